// @vitest-environment jsdom
/**
 * The page with the generator in the browser (issue #25): onnxruntime-web is faked
 * (vi.mock('./ort')), the server is a stubbed fetch. Painting, Random, undo, morph
 * and arithmetic must not ask the server once the local engine is ready; a failed
 * engine falls back to the server; a static site (no /api) runs fully locally.
 */
import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import App from './App.vue'
import FacePanel from './components/FacePanel.vue'
import type { FaceScreen } from './facescreen'
import type { ModelsResponse } from './types'

const fake = vi.hoisted(() => ({
  failCreate: false,
  runs: [] as number[],
}))

vi.mock('./ort', () => ({
  ortRuntime: () => ({
    async createSession() {
      if (fake.failCreate) throw new Error('no WebAssembly here')
      return {
        // a 64×64 face per z: red = z[0] in its first pixel
        async run(z: Float32Array, n: number, dim: number) {
          fake.runs.push(n)
          const data = new Float32Array(n * 64 * 64 * 3)
          for (let i = 0; i < n; i++) data.set([z[i * dim], 0, 0], i * 64 * 64 * 3)
          return { data, dims: [n, 64, 64, 3] }
        },
        release() {},
      }
    },
    // the attribute classifier: Smiling's logit is 0, Male's 2; age 40
    async createClassifier() {
      return { run: async (_: Float32Array, n: number) => ({ attributes: new Array(n).fill([0, 2]).flat(), age: new Array(n).fill(40) }) }
    },
  }),
  browserFeatures: async () => ({ webgpu: false, webgl: false }),
  modelCache: async () => null,
}))

vi.mock('./canvas', () => ({
  canvasEncoder: {
    png: async (i: { data: Uint8ClampedArray }) => new Blob([`local:${i.data[0]}`], { type: 'image/png' }),
    dataUrl: async (i: { data: Uint8ClampedArray }) => `data:image/png;base64,LOCAL${i.data[0]}`,
  },
  domPainter: { decode: async () => ({}), draw: () => undefined, release: () => undefined },
}))

const MODEL_BYTES = Uint8Array.from({ length: 10 }, (_, i) => i)
const SHA = createHash('sha256').update(MODEL_BYTES).digest('hex')

function models(url: string, controls: string | null = null): ModelsResponse {
  return {
    default: 'm1',
    models: [
      {
        name: 'm1',
        z: { dim: 100, prior: 'uniform', low: -1, high: 1 },
        truncation: 0.8,
        image_size: 64,
        channels: 3,
        web: { url, bytes: 10, sha256: SHA, input: 'z', output: 'image', layout: 'NHWC', range: [-1, 1] },
        controls,
      },
    ],
  }
}

let calls: string[]
/** No server: /api answers nothing, models.json is there. */
let serverless: boolean
/** The static site has the model's controls.json. */
let staticControls: boolean
/** The model download waits for this after its first 4 bytes. */
let gate: Promise<void>
let openGate: () => void

function json(status: number, data: unknown) {
  return new Response(JSON.stringify(data), { status, headers: { 'Content-Type': 'application/json' } })
}

async function fakeFetch(input: string, init: RequestInit = {}) {
  calls.push(input)
  const url = new URL(input, 'http://host/studio/')
  if (serverless && url.pathname.startsWith('/api/')) throw new TypeError('Failed to fetch')
  switch (url.pathname) {
    case '/api/models':
      return json(200, models('/api/models/m1/generator.onnx'))
    case '/studio/models.json':
      return serverless
        ? json(200, models('models/m1/generator.onnx', staticControls ? 'models/m1/controls.json' : null))
        : json(404, {})
    case '/studio/models/m1/classifier.onnx':
      return new Response(new Uint8Array([1, 2, 3]))
    case '/studio/models/m1/controls.json': {
      const vector = (i: number) => Array.from({ length: 100 }, (_, j) => (j === i ? 1 : 0))
      const direction = { kind: 'attribute', how: 'boundary', description: '' }
      return json(200, {
        directions: [
          { ...direction, name: 'Smiling', label: 'Smiling', step: 0.5, vector: vector(0) },
          { ...direction, name: 'Male', label: 'Male', step: 1, vector: vector(1) },
        ],
        attributes: ['Smiling', 'Male'],
        basis: Array.from({ length: 100 }, (_, i) => vector(i)),
        boundaries: { Smiling: { offset: 0 }, Male: { offset: 0 } },
        classifier: { url: 'models/m1/classifier.onnx', bytes: 3, sha256: '', attributes: ['Smiling', 'Male'], thresholds: { Smiling: 0.25 } },
      })
    }
    case '/api/models/m1/generator.onnx':
    case '/studio/models/m1/generator.onnx': {
      const chunks = [MODEL_BYTES.slice(0, 4), MODEL_BYTES.slice(4)]
      let sent = 0
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            if (sent === 1) await gate
            if (sent < chunks.length) c.enqueue(chunks[sent++])
            else c.close()
          },
        }),
      )
    }
    case '/api/random':
      return json(200, { seed: 7, z: new Array(100).fill(0.25), image: 'data:image/png;base64,SERVER' })
    case '/api/generate': {
      const body = JSON.parse(init.body as string) as { z: number[] }
      return new Response(new Blob([`server:${body.z[0]}`], { type: 'image/png' }))
    }
    case '/api/directions':
      return json(404, { detail: 'no named controls' })
    default:
      return json(404, { detail: 'Not Found' })
  }
}

let wrapper: VueWrapper | null = null
let urls = 0

beforeEach(() => {
  calls = []
  serverless = false
  staticControls = false
  fake.failCreate = false
  fake.runs = []
  gate = new Promise((resolve) => (openGate = resolve))
  localStorage.clear()
  window.history.replaceState(null, '', '/studio/')
  vi.stubGlobal('fetch', vi.fn(fakeFetch))
  URL.createObjectURL = vi.fn((blob: Blob) => `blob:${++urls}:${(blob as Blob).size}`)
  URL.revokeObjectURL = vi.fn()
})

afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  vi.unstubAllGlobals()
})

const cells = (w: VueWrapper) => w.findAll('[data-testid="z-cell"]')
const engine = (w: VueWrapper) => w.find('[data-testid="engine"]')
/** What the face's canvas shows: an image URL, "png" (the server's live answer) or "pixels:<red>" (the browser's). */
function face(w: VueWrapper): string | undefined {
  expect(w.find('canvas[data-testid="face"]').exists()).toBe(true)
  const picture = (w.findComponent(FacePanel).props('screen') as FaceScreen).picture
  if (picture === null || typeof picture === 'string') return picture ?? undefined
  return picture instanceof Blob ? 'png' : `pixels:${picture.data[0]}`
}
const serverCalls = () => calls.filter((c) => c.startsWith('/api/') && !c.startsWith('/api/models'))

function click(el: Element): void {
  for (const type of ['pointerdown', 'pointerup']) {
    const e = new MouseEvent(type, { bubbles: true, cancelable: true, button: 0 })
    Object.assign(e, { pointerId: 1, pointerType: 'mouse' })
    el.dispatchEvent(e)
  }
}

async function start(): Promise<VueWrapper> {
  wrapper = mount(App, { attachTo: document.body })
  await vi.waitFor(() => expect(cells(wrapper!).length).toBeGreaterThan(0))
  await flushPromises()
  return wrapper
}

async function paintWhite(w: VueWrapper, index: number): Promise<void> {
  await w.findAll('[data-testid="swatch"]').at(-1)!.trigger('click')
  click(cells(w)[index].element)
  await flushPromises()
}

describe('App with the generator in the browser', () => {
  it('shows the download, then paints, randomizes, undoes, morphs and does arithmetic with no server call', async () => {
    const w = await start()
    // the first face came from the server while the model loads
    expect(face(w)).toBe('data:image/png;base64,SERVER')
    await vi.waitFor(() => expect(engine(w).text()).toBe('Loading the face model: 40%'))
    expect(engine(w).attributes('data-engine')).toBe('server')
    expect(engine(w).attributes('data-state')).toBe('loading')

    openGate()
    await vi.waitFor(() => expect(engine(w).attributes('data-engine')).toBe('local-wasm'))
    expect(engine(w).text()).toMatch(/^Local · wasm · \d+(\.\d)? ms\/face$/)
    expect(calls.filter((c) => c.endsWith('generator.onnx'))).toEqual(['/api/models/m1/generator.onnx'])

    calls = []
    await paintWhite(w, 0)
    await vi.waitFor(() => expect(face(w)).toBe('pixels:255'))
    expect(fake.runs.at(-1)).toBe(1)
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(2))

    await w.find('[data-testid="undo"]').trigger('click')
    await flushPromises()
    expect(face(w)).toBe('data:image/png;base64,SERVER')

    await w.find('[data-testid="random"]').trigger('click')
    await vi.waitFor(() => expect(face(w)).toMatch(/^data:image\/png;base64,LOCAL\d+$/))
    expect(w.find('[data-testid="notice"]').text()).toMatch(/Random face \(seed \d+\)/)
    const z = cells(w).map((c) => Number(c.attributes('data-value')))
    expect(z).toHaveLength(100)
    expect(Math.min(...z)).toBeGreaterThanOrEqual(-0.8) // the model's truncation 0.8 on [-1, 1]
    expect(Math.max(...z)).toBeLessThanOrEqual(0.8)

    // morph: A = the face on show, B = the one before (all 16 frames in one batch)
    await w.find('[data-testid="morph-a-current"]').trigger('click')
    await w.find('[data-testid="undo"]').trigger('click')
    await flushPromises()
    await w.find('[data-testid="morph-b-current"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-testid="morph-frame"]').exists()).toBe(true))
    expect(fake.runs.at(-1)).toBe(16)
    expect(w.find('[data-testid="morph-frame"]').attributes('src')).toMatch(/^data:image\/png;base64,LOCAL/)

    for (const g of ['a', 'b', 'c']) await w.find(`[data-testid="arith-add-${g}"]`).trigger('click')
    await vi.waitFor(() => expect(w.find('[data-testid="arith-result"]').exists()).toBe(true), { timeout: 2000 })
    // z − z + z = z = 0.25 everywhere: red = round(1.25 · 127.5) = 159
    expect(w.find('[data-testid="arith-result"]').attributes('src')).toBe('data:image/png;base64,LOCAL159')

    expect(serverCalls()).toEqual([])
  })

  it('a model that fails to load leaves the faces to the server, and says so', async () => {
    fake.failCreate = true
    openGate()
    const w = await start()
    await vi.waitFor(() => expect(engine(w).attributes('data-state')).toBe('failed'))
    expect(engine(w).attributes('data-engine')).toBe('server')
    expect(engine(w).text()).toContain('Server (the local model failed: no backend could run the face model (wasm: no WebAssembly here))')
    await paintWhite(w, 0)
    await vi.waitFor(() => expect(calls).toContain('/api/generate'))
  })

  it('a model without a web generator stays on the server', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string, init?: RequestInit) => {
        if (input === '/api/models') {
          const res = models('')
          delete res.models[0].web
          calls.push(input)
          return json(200, res)
        }
        return fakeFetch(input, init)
      }),
    )
    const w = await start()
    expect(engine(w).text()).toBe('Server')
    expect(engine(w).attributes('data-engine')).toBe('server')
    expect(calls.some((c) => c.endsWith('.onnx'))).toBe(false)
  })

  it('a static site (no /api) loads models.json and runs fully in the browser', async () => {
    serverless = true
    openGate()
    const w = await start()
    expect(calls).toContain('models.json')
    expect(calls).toContain('models/m1/generator.onnx') // relative: works from a sub-folder
    expect(engine(w).attributes('data-engine')).toBe('local-wasm')
    expect(face(w)).toMatch(/^data:image\/png;base64,LOCAL/)
    expect(w.find('[data-testid="serverless-note"]').exists()).toBe(true)
    expect(w.find('[data-testid="photo-open"]').exists()).toBe(false)
    expect(w.find('#photo').exists()).toBe(false)
    const saved: string[] = []
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download)
    })
    await w.find('[data-testid="download"]').trigger('click') // enlarged in the browser (web/src/enlarge.ts)
    await vi.waitFor(() => expect(saved).toEqual(['face-m1-512px.png']))
    click.mockRestore()
    expect(w.find('[data-testid="controls-missing"]').text()).toContain('Without the face server')
    expect(w.find('[data-testid="error"]').exists()).toBe(false)

    await paintWhite(w, 3)
    await vi.waitFor(() => expect(face(w)).toMatch(/^pixels:\d+$/))
    // only the failed /api/models probe ever went to the server
    expect(calls.filter((c) => c.startsWith('/api/'))).toEqual(['/api/models'])
  })

  it("a static site with the model's controls.json moves the sliders in the browser", async () => {
    serverless = true
    staticControls = true
    openGate()
    const w = await start()
    await vi.waitFor(() => expect(w.find('[data-testid="slider-Smiling"]').exists()).toBe(true))
    expect(calls).toContain('models/m1/controls.json')
    expect(w.find('[data-testid="slider-linear"]').exists()).toBe(true)
    expect(w.find('[data-testid="serverless-note"]').text()).toContain(
      'the sliders, breeding and “Make me a face” work in your browser; photos and the identity lock need the server',
    )
    expect(w.find('[data-testid="breed-local"]').exists()).toBe(true) // breeding in the page, without the lock
    expect(w.find('[data-testid="breed-lock"]').exists()).toBe(false)
    await vi.waitFor(() => expect(face(w)).toMatch(/^(data:|pixels:)/))
    const before = face(w)
    const slider = w.find('[data-testid="slider-Smiling"]')
    ;(slider.element as HTMLInputElement).value = '-1'
    await slider.trigger('input')
    await slider.trigger('change')
    await vi.waitFor(() => expect(face(w)).not.toBe(before)) // red = z[0], half a unit lower
    const z0 = Number(cells(w)[0].attributes('data-value'))
    await vi.waitFor(() => expect(face(w)).toBe(`pixels:${Math.round(((z0 + 1) / 2) * 255)}`))
    // the face read by the classifier in the page, calibrated: sigmoid(0 − logit(0.25)) = 75%
    await vi.waitFor(() => expect(w.find('[data-testid="attr-Smiling"]').text()).toContain('75%'), { timeout: 3000 })
    expect(w.find('[data-testid="attr-Male"]').text()).toContain('88%')
    expect(calls).toContain('models/m1/classifier.onnx')

    // make me a face, in the page: the fake classifier calls every face smiling (75%) and male (88%)
    await w.find('[data-testid="makeme-Male-yes"]').setValue(true)
    await w.find('[data-testid="makeme-count"]').setValue(3)
    await w.find('[data-testid="makeme"] form').trigger('submit')
    await vi.waitFor(() => expect(w.findAll('[data-testid="makeme-face"]')).toHaveLength(3))
    expect(w.find('[data-testid="makeme-summary"]').text()).toMatch(/^3 of 3 faces as asked \(32 tried/)
    await w.find('[data-testid="makeme-Male-no"]').setValue(true)
    await w.find('[data-testid="makeme"] form').trigger('submit')
    await vi.waitFor(() => expect(w.find('[data-testid="makeme-summary"]').text()).toMatch(/^0 of 3 faces as asked \(128 tried/))
    await w.find('[data-testid="breed-children"]').trigger('click')
    await vi.waitFor(() => expect(w.findAll('[data-testid="breed-result"]')).toHaveLength(6))
    expect(w.find('[data-testid="breed-result"] img').attributes('src')).toMatch(/^data:image\/png;base64,LOCAL/)
    expect(calls.filter((c) => c.startsWith('/api/'))).toEqual(['/api/models'])
    expect(w.find('[data-testid="error"]').exists()).toBe(false)
  })
})
