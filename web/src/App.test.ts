// @vitest-environment jsdom
/**
 * The page against a fake backend (fetch stubbed): loading, painting with live
 * updates, undo, share links, paste errors, server errors and model switching.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import App from './App.vue'
import { faceId } from './breeding'
import FacePanel from './components/FacePanel.vue'
import type { FaceScreen } from './facescreen'
import type { ModelsResponse } from './types'

const SUMMARY = {
  data: 'data/faces/train',
  images_seen: 3_616_000,
  train_hours: 24.0,
  fid: 26.8939,
  fid_extractor: 'inception-fid',
  fid_split: 'test',
}

const MODELS: ModelsResponse = {
  default: 'm1',
  models: [
    {
      name: 'm1',
      z: { dim: 100, prior: 'uniform', low: -1, high: 1 },
      truncation: 0.8,
      image_size: 64,
      channels: 3,
      summary: SUMMARY,
    },
    { name: 'm2', z: { dim: 64, prior: 'normal', low: -3, high: 3 }, image_size: 64, channels: 3 },
  ],
}

// float32 values, as the server sends them
const randomZ = (dim: number, seed: number) =>
  Array.from({ length: dim }, (_, i) => Math.fround(Math.sin(seed * 1000 + i) * 0.9))

interface Call {
  url: string
  body: Record<string, unknown> | null
}

let calls: Call[]
let failGenerate: string | null
/** Whether the fake server has the named controls (else their endpoints answer 404). */
let withControls: boolean

const DIRECTIONS = {
  model: 'm1',
  directions: [
    { name: 'Smiling', kind: 'attribute', label: 'Smiling', how: 'InterFaceGAN boundary', step: 1.7, description: 'smile' },
    { name: 'sefa_0', kind: 'sefa', label: 'sefa 0 (mostly Male+)', how: 'SeFa: eigenvector 0', step: 3, description: '' },
  ],
  attributes: ['Smiling', 'Male', 'Age'],
}

/** The fake edit: z[0] moves by 0.1 per slider step of all moves together; 3 steps or more miss 3%, at the edge. */
function fakeEdit(body: Record<string, unknown>) {
  const z = (body.z as number[]).slice()
  const total = Object.values(body.moves as Record<string, number>).reduce((a, b) => a + b, 0)
  z[0] = Math.max(-1, Math.min(1, z[0] + 0.1 * total))
  const clipped = Math.abs(total) >= 3 ? 0.03 : 0
  return { z, image: `data:image/png;base64,EDIT${total}`, clipped, saturated: clipped ? 1 : 0, attributes: { Smiling: 0.5 + total / 10, Male: 0.2, Age: 30 } }
}

function fakeResponse(status: number, data: unknown, blob?: Blob) {
  return {
    ok: status < 400,
    status,
    statusText: String(status),
    json: async () => data,
    text: async () => JSON.stringify(data),
    blob: async () => blob ?? new Blob([JSON.stringify(data)]),
  }
}

async function fakeFetch(input: string, init: RequestInit = {}) {
  const form = init.body instanceof FormData ? init.body : null
  const body = init.body && !form ? (JSON.parse(init.body as string) as Record<string, unknown>) : null
  calls.push({ url: input, body: form ? Object.fromEntries(form) : body })
  const url = new URL(input, 'http://x')
  switch (url.pathname) {
    case '/api/models':
      return fakeResponse(200, MODELS)
    case '/api/random': {
      const model = url.searchParams.get('model') ?? 'm1'
      const dim = MODELS.models.find((m) => m.name === model)!.z.dim
      const seed = Number(url.searchParams.get('seed') ?? 7)
      return fakeResponse(200, { seed, z: randomZ(dim, seed), image: `data:image/png;base64,RANDOM${model}${seed}` })
    }
    case '/api/directions':
      return withControls ? fakeResponse(200, DIRECTIONS) : fakeResponse(404, { detail: 'model m1 has no named controls' })
    case '/api/edit':
      return withControls ? fakeResponse(200, fakeEdit(body!)) : fakeResponse(404, { detail: 'no controls' })
    case '/api/attributes':
      return withControls ? fakeResponse(200, { attributes: { Smiling: 0.1, Male: 0.9, Age: 52 } }) : fakeResponse(404, {})
    case '/api/sample': {
      if (!withControls) return fakeResponse(404, { detail: 'no controls' })
      const faces = Array.from({ length: body!.n as number }, (_, k) => ({
        z: randomZ(100, 20 + k),
        image: `data:image/png;base64,SAMPLE${k}`,
        attributes: { Smiling: 0.9 },
        satisfied: k % 2 === 0,
      }))
      return fakeResponse(200, { faces, satisfied: Math.ceil(faces.length / 2), tried: 64, ms: 420 })
    }
    case '/api/children':
    case '/api/cross': {
      if (!withControls) return fakeResponse(404, { detail: 'no controls' })
      const first = url.pathname === '/api/children' ? (body!.z as number[]) : (body!.parents as number[][])[0]
      const shift = url.pathname === '/api/children' ? 0.01 : -0.01
      const faces = Array.from({ length: body!.n as number }, (_, k) => ({
        z: first.map((v) => Math.fround(Math.max(-1, Math.min(1, v + shift * (k + 1))))),
        image: `data:image/png;base64,${url.pathname.slice(5)}${k}`,
      }))
      return fakeResponse(200, { faces })
    }
    case '/api/invert': {
      // the photo's face, streamed as NDJSON in chunks that split the lines
      const lines = [
        { event: 'faces', faces: [{ box: [4, 4, 40, 40], score: 0.99 }], chosen: 0, crop: 'data:image/png;base64,CROP', photo_size: [64, 64] },
        { event: 'progress', step: 30, steps: 60 },
        { event: 'done', z: randomZ(100, 99), image: 'data:image/png;base64,PHOTO', crop: 'data:image/png;base64,CROP', scores: { psnr: 24.1, ssim: 0.77 }, seconds: 1.4 },
      ]
      const text = lines.map((l) => JSON.stringify(l)).join('\n')
      const chunks = [text.slice(0, 50), text.slice(50, 400), text.slice(400)]
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          const next = chunks.shift()
          if (next === undefined) c.close()
          else c.enqueue(new TextEncoder().encode(next))
        },
      })
      return new Response(stream, { headers: { 'Content-Type': 'application/x-ndjson' } })
    }
    case '/api/generate':
      if (failGenerate) return fakeResponse(422, { detail: failGenerate })
      return fakeResponse(200, null, new Blob([`png:${JSON.stringify(body!.z)}`], { type: 'image/png' }))
    default:
      return fakeResponse(404, { detail: 'Not Found' })
  }
}

let urls = 0
let wrapper: VueWrapper | null = null

beforeEach(() => {
  calls = []
  failGenerate = null
  withControls = false
  localStorage.clear()
  window.history.replaceState(null, '', '/')
  vi.stubGlobal('fetch', vi.fn(fakeFetch))
  URL.createObjectURL = vi.fn(() => `blob:face-${++urls}`)
  URL.revokeObjectURL = vi.fn()
})

afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  vi.unstubAllGlobals()
})

async function start(): Promise<VueWrapper> {
  wrapper = mount(App, { attachTo: document.body })
  await vi.waitFor(() => expect(wrapper!.findAll('[data-testid="z-cell"]').length).toBeGreaterThan(0))
  await flushPromises()
  return wrapper
}

const cells = (w: VueWrapper) => w.findAll('[data-testid="z-cell"]')
const values = (w: VueWrapper) => cells(w).map((c) => Number(c.attributes('data-value')))
/** What the face's canvas shows: an image URL, or "png" (the server's live answer). */
function faceSrc(w: VueWrapper): string | undefined {
  expect(w.find('canvas[data-testid="face"]').exists()).toBe(true)
  const picture = (w.findComponent(FacePanel).props('screen') as FaceScreen).picture
  return picture instanceof Blob ? 'png' : (picture as string | null) ?? undefined
}
const generateCalls = () => calls.filter((c) => c.url === '/api/generate')

function click(el: Element, shiftKey = false): void {
  for (const type of ['pointerdown', 'pointerup']) {
    const e = new MouseEvent(type, { bubbles: true, cancelable: true, button: 0, shiftKey })
    Object.assign(e, { pointerId: 1, pointerType: 'mouse' })
    el.dispatchEvent(e)
  }
}

describe('App', () => {
  it('Random asks for the realism ↔ variety setting, starting at the model default', async () => {
    const w = await start()
    const slider = w.find<HTMLInputElement>('[data-testid="truncation"]')
    expect(Number(slider.element.value)).toBe(0.8)
    await slider.setValue('0.5')
    calls = []
    await w.find('[data-testid="random"]').trigger('click')
    await flushPromises()
    const asked = new URL(calls.find((c) => c.url.startsWith('/api/random'))!.url, 'http://x')
    expect(asked.searchParams.get('truncation')).toBe('0.5')
  })

  it('loads the models and starts with a random face in the history', async () => {
    const w = await start()
    expect(cells(w)).toHaveLength(100)
    expect(values(w)).toEqual(randomZ(100, 7))
    expect(faceSrc(w)).toBe('data:image/png;base64,RANDOMm17')
    expect(w.find('[data-testid="mapping"]').text()).toContain('Black = -1.00')
    expect(w.find('[data-testid="mapping"]').text()).toContain('white = 1.00')
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(1))
    expect(w.find('[data-testid="undo"]').attributes('disabled')).toBeDefined()
  })

  it('painting updates the face live, and undo brings the old face back', async () => {
    const w = await start()
    await w.findAll('[data-testid="swatch"]').at(-1)!.trigger('click') // white
    click(cells(w)[0].element)
    await flushPromises()
    expect(values(w)[0]).toBe(1)
    await vi.waitFor(() => expect(faceSrc(w)).toBe('png'))
    const sent = generateCalls().at(-1)!.body!
    expect(sent.model).toBe('m1')
    expect((sent.z as number[])[0]).toBe(1)
    expect((sent.z as number[]).slice(1)).toEqual(randomZ(100, 7).slice(1))
    expect(w.find('[data-testid="roundtrip"]').text()).toMatch(/^\d+ ms$/)
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(2))

    const before = generateCalls().length
    await w.find('[data-testid="undo"]').trigger('click')
    await flushPromises()
    expect(values(w)).toEqual(randomZ(100, 7))
    expect(faceSrc(w)).toBe('data:image/png;base64,RANDOMm17') // from history, no request
    expect(generateCalls()).toHaveLength(before)
    await w.find('[data-testid="redo"]').trigger('click')
    await flushPromises()
    expect(values(w)[0]).toBe(1)
  })

  it('Ctrl+Z and Ctrl+Shift+Z undo and redo; reset goes to the prior mean', async () => {
    const w = await start()
    await w.find('[data-testid="reset"]').trigger('click')
    expect(values(w)).toEqual(new Array(100).fill(0))
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'z', ctrlKey: true }))
    await flushPromises()
    expect(values(w)).toEqual(randomZ(100, 7))
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Z', ctrlKey: true, shiftKey: true }))
    await flushPromises()
    expect(values(w)).toEqual(new Array(100).fill(0))
  })

  it('a share link restores exactly the same z (and model)', async () => {
    const w = await start()
    await w.findAll('[data-testid="swatch"]')[0].trigger('click') // black
    click(cells(w)[5].element)
    await flushPromises()
    await w.find('[data-testid="share"]').trigger('click')
    await flushPromises()
    const link = (w.find('[data-testid="share-url"]').element as HTMLInputElement).value
    expect(link).toMatch(/#m=m1&z=f32\.[A-Za-z0-9_-]+$/)
    expect(window.location.hash).toBe(new URL(link).hash)
    const shared = values(w)
    w.unmount()

    window.history.replaceState(null, '', '/')
    window.history.replaceState(null, '', new URL(link).hash)
    calls = []
    const again = await start()
    expect(values(again)).toEqual(shared)
    await vi.waitFor(() => expect(generateCalls()).toHaveLength(1))
    expect(generateCalls()[0].body!.z).toEqual(shared)
    expect(calls.some((c) => c.url.startsWith('/api/random'))).toBe(false)
  })

  it('painted faces share compactly (q8), and a bad link shows a readable error', async () => {
    const w = await start()
    await w.find('[data-testid="reset"]').trigger('click')
    await w.find('[data-testid="share"]').trigger('click')
    await flushPromises()
    const link = (w.find('[data-testid="share-url"]').element as HTMLInputElement).value
    expect(new URL(link).hash).toMatch(/^#m=m1&z=q8\.[A-Za-z0-9_-]{134}$/)

    window.location.hash = '#m=m1&z=q8.AAAA'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await flushPromises()
    expect(w.find('[data-testid="error"]').text()).toContain('holds 3 z values, but this model takes 100')
    expect(values(w)).toEqual(new Array(100).fill(0))
  })

  it('paste validates and reports errors in the banner', async () => {
    const w = await start()
    await w.find('[data-testid="paste-z"]').trigger('click')
    await w.find('[data-testid="paste-text"]').setValue('[1, 2, 3]')
    await w.find('[data-testid="paste-apply"]').trigger('click')
    expect(w.find('[data-testid="error"]').text()).toContain('z must hold 100 numbers for this model')
    const z = new Array(100).fill(0.5)
    await w.find('[data-testid="paste-text"]').setValue(JSON.stringify(z))
    await w.find('[data-testid="paste-apply"]').trigger('click')
    expect(w.find('[data-testid="error"]').exists()).toBe(false)
    expect(values(w)).toEqual(z)
  })

  it('shows server errors in the banner', async () => {
    const w = await start()
    failGenerate = 'z[0] = 9 is outside the prior range'
    click(cells(w)[0].element)
    await vi.waitFor(() => expect(w.find('[data-testid="error"]').exists()).toBe(true))
    expect(w.find('[data-testid="error"]').text()).toContain('Server error 422 on /api/generate: z[0] = 9 is outside')
  })

  it('switching model adapts the grid to its z contract', async () => {
    const w = await start()
    await w.find('[data-testid="model-picker"]').setValue('m2')
    await vi.waitFor(() => expect(cells(w)).toHaveLength(64))
    expect(w.find('[role="grid"]').attributes('style')).toContain('repeat(8, 1fr)')
    expect(w.find('[data-testid="mapping"]').text()).toContain('Black = -3.00')
    expect(values(w)).toEqual(randomZ(64, 7))
    expect(calls.some((c) => c.url === '/api/random?model=m2')).toBe(true)
    expect(w.find('[data-testid="about"]').exists()).toBe(false) // m2 has no summary
  })

  it('"About model" shows the plain summary', async () => {
    const w = await start()
    const about = w.find('[data-testid="about"]')
    expect(about.find('summary').text()).toBe('About model m1')
    const rows = about.findAll('dt').map((dt, i) => `${dt.text()}: ${about.findAll('dd')[i].text()}`)
    expect(rows).toEqual([
      'Trained on: data/faces/train',
      'Images seen: 3,616,000',
      'Training time: 24.0 h',
      'FID (lower is better): 26.89 (test split, inception-fid)',
    ])
  })

  it('downloads the face on show, upscaled to 512 px', async () => {
    const w = await start()
    const names: string[] = []
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download)
    })
    await w.find('[data-testid="resample"]').setValue('lanczos')
    expect(w.find('[data-testid="download"]').text()).toBe('Download 512 px')
    await w.find('[data-testid="download"]').trigger('click')
    await vi.waitFor(() => expect(names).toEqual(['face-m1-512px.png']))
    click.mockRestore()
    const request = generateCalls().at(-1)!.body!
    expect(request).toMatchObject({ model: 'm1', scale: 8, resample: 'lanczos', format: 'png' })
    expect(request.z).toEqual(values(w))
  })

  it('randomizes only the selected squares', async () => {
    const w = await start()
    await w.find('[data-testid="reset"]').trigger('click')
    click(cells(w)[3].element, true)
    click(cells(w)[42].element, true)
    await flushPromises()
    expect(w.find('[data-testid="randomize-selected"]').text()).toContain('2 selected')
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.9)
    await w.find('[data-testid="randomize-selected"]').trigger('click')
    spy.mockRestore()
    const v = values(w)
    expect(v[3]).toBeCloseTo(0.8, 1)
    expect(v[42]).toBeCloseTo(0.8, 1)
    expect(v.filter((x) => x !== 0)).toHaveLength(2)
  })

  it("Reset goes to the server's reset_z when the model has one, and says so", async () => {
    const resetZ = randomZ(100, 3)
    MODELS.models[0].reset_z = resetZ
    try {
      const w = await start()
      const button = w.find('[data-testid="reset"]')
      expect(button.attributes('title')).toMatch(/reset face/)
      await button.trigger('click')
      expect(values(w)).toEqual(resetZ)
    } finally {
      delete MODELS.models[0].reset_z
    }
  })

  it('without reset_z the Reset title says it gives the flat prior centre', async () => {
    const w = await start()
    expect(w.find('[data-testid="reset"]').attributes('title')).toContain("prior's centre (z = 0.00, mid grey)")
  })

  it('a stale error goes on the next successful action', async () => {
    const w = await start()
    await w.find('[data-testid="paste-z"]').trigger('click')
    await w.find('[data-testid="paste-text"]').setValue('[1, 2, 3]')
    await w.find('[data-testid="paste-apply"]').trigger('click')
    expect(w.find('[data-testid="error"]').exists()).toBe(true)
    expect(w.find('.toasts [data-testid="error"]').exists()).toBe(true) // fixed to the window, not the top of the page
    await w.find('[data-testid="reset"]').trigger('click')
    expect(w.find('[data-testid="error"]').exists()).toBe(false)
  })

  it('on a phone the face sticks above the grid and the mouse/keyboard hints go', async () => {
    vi.stubGlobal('matchMedia', (query: string) => ({
      matches: true, // narrow and touch
      media: query,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    }))
    const w = await start()
    expect(w.find('main').attributes('data-layout')).toBe('narrow')
    expect(w.find('.face-panel').classes()).toContain('sticky')
    expect(w.find('[data-testid="desktop-help"]').exists()).toBe(false)
    expect(w.find('[data-testid="touch-help"]').exists()).toBe(true)
    expect(w.find('.history h2').text()).not.toContain('hover')
  })

  it('on a desktop the face stays in its column and the hints show', async () => {
    const w = await start()
    expect(w.find('main').attributes('data-layout')).toBe('wide')
    expect(w.find('.face-panel').classes()).not.toContain('sticky')
    expect(w.find('[data-testid="desktop-help"]').exists()).toBe(true)
  })

  it('a model without named controls hides the sliders with a one-line note', async () => {
    const w = await start()
    await vi.waitFor(() => expect(w.find('[data-testid="controls-missing"]').exists()).toBe(true))
    expect(w.find('[data-testid="controls-missing"]').text()).toContain('has no named controls')
    expect(w.find('[data-testid="controls"]').exists()).toBe(false)
    expect(w.find('[data-testid="error"]').exists()).toBe(false)
  })

  it('a slider drag moves z live from where it started, and makes one history entry on release', async () => {
    withControls = true
    const w = await start()
    await vi.waitFor(() => expect(w.find('[data-testid="slider-Smiling"]').exists()).toBe(true))
    expect(w.find('[data-testid="slider-sefa_0"]').element.closest('label')!.title).toBe('sefa 0 (mostly Male+)\nSeFa: eigenvector 0') // its whole name, then `how`
    await vi.waitFor(() => expect(w.find('[data-testid="attr-Male"]').text()).toContain('90%')) // read for the face on show
    expect(w.find('[data-testid="attr-Age"]').text()).toBe('looks about 52 years old')
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(1))
    const start0 = values(w)[0]
    const slider = w.find('[data-testid="slider-Smiling"]')
    for (const v of ['1', '2']) {
      ;(slider.element as HTMLInputElement).value = v
      await slider.trigger('input')
      await vi.waitFor(() => expect(values(w)[0]).toBeCloseTo(Math.max(-1, Math.min(1, Math.fround(start0) + 0.1 * Number(v))), 5))
    }
    const edits = calls.filter((c) => c.url === '/api/edit')
    expect(edits.at(-1)!.body).toMatchObject({ model: 'm1', moves: { Smiling: 2 }, hold: null })
    expect(edits.every((e) => (e.body!.z as number[])[0] === randomZ(100, 7)[0])).toBe(true) // always from the start
    expect(faceSrc(w)).toBe('data:image/png;base64,EDIT2')
    expect(w.find('[data-testid="attr-Smiling"]').text()).toContain('70%')
    expect(w.findAll('[data-testid="history-item"]')).toHaveLength(1) // not one per move
    await slider.trigger('change')
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(2))
    expect(generateCalls()).toHaveLength(0) // the faces came with the edits

    await w.find('[data-testid="slider-hold"]').setValue(false)
    const sefa = w.find('[data-testid="slider-sefa_0"]')
    ;(sefa.element as HTMLInputElement).value = '-1'
    await sefa.trigger('input')
    await vi.waitFor(() => expect(calls.filter((c) => c.url === '/api/edit').at(-1)!.body).toMatchObject({ moves: { Smiling: 2, sefa_0: -1 }, hold: [] }))
    await sefa.trigger('change')
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(3))

    await w.find('[data-testid="undo"]').trigger('click') // one undo step per drag
    await flushPromises()
    expect(values(w)[0]).toBeCloseTo(Math.fround(start0) + 0.2, 5)
    await w.find('[data-testid="undo"]').trigger('click')
    await flushPromises()
    expect(values(w)).toEqual(randomZ(100, 7))
    await vi.waitFor(() => expect((w.find('[data-testid="slider-Smiling"]').element as HTMLInputElement).value).toBe('0'))
  })

  it('shows how much of a slider move was not reached', async () => {
    withControls = true
    const w = await start()
    await vi.waitFor(() => expect(w.find('[data-testid="slider-Smiling"]').exists()).toBe(true))
    const slider = w.find('[data-testid="slider-Smiling"]')
    ;(slider.element as HTMLInputElement).value = '3'
    await slider.trigger('input')
    await vi.waitFor(() => expect(w.find('[data-testid="slider-clipped"]').exists()).toBe(true))
    expect(w.find('[data-testid="slider-clipped"]').text()).toBe(
      "Reached 97% of the asked change; 1 of z's numbers are at the edge of their range",
    )
  })

  it('breeds children and crosses, keeps their lineage, and shares it in the link', async () => {
    withControls = true
    const w = await start()
    await vi.waitFor(() => expect(w.find('[data-testid="breed-children"]').attributes('disabled')).toBeUndefined())
    const parentId = faceId('m1', randomZ(100, 7))
    expect(w.find('[data-testid="face-id"]').text()).toBe(`#${parentId}`)
    await w.find('[data-testid="breed-amount"]').setValue('0.5')
    await w.find('[data-testid="breed-children"]').trigger('click')
    await vi.waitFor(() => expect(w.findAll('[data-testid="breed-result"]')).toHaveLength(6))
    const asked = calls.find((c) => c.url === '/api/children')!.body!
    expect(asked).toMatchObject({ model: 'm1', n: 6, amount: 0.5, lock: true, z: randomZ(100, 7) })
    await w.findAll('[data-testid="breed-result"]')[0].trigger('click')
    await flushPromises()
    expect(faceSrc(w)).toBe('data:image/png;base64,children0')
    expect(w.find('[data-testid="lineage"]').text()).toBe(`#${faceId('m1', values(w))}: child of #${parentId} (lock, 0.5)`)
    const childZ = values(w)

    // cross the child with its parent (both in the history)
    const picks = w.findAll('[data-testid="breed-parent"]')
    expect(picks.length).toBe(2)
    for (const p of picks) await p.trigger('click')
    await w.find('[data-testid="breed-cross"]').trigger('click')
    await vi.waitFor(() => expect(w.findAll('[data-testid="breed-result"]').at(0)?.find('img').attributes('src')).toBe('data:image/png;base64,cross0'))
    expect((calls.find((c) => c.url === '/api/cross')!.body!.parents as number[][]).length).toBe(2)
    await w.findAll('[data-testid="breed-result"]')[0].trigger('click')
    await flushPromises()
    const text = w.find('[data-testid="lineage"]').text()
    expect(text).toContain(`cross of #${faceId('m1', childZ)} × #${parentId} ← #${faceId('m1', childZ)}: child of #${parentId} (lock, 0.5)`)

    await w.find('[data-testid="share"]').trigger('click')
    await flushPromises()
    const link = (w.find('[data-testid="share-url"]').element as HTMLInputElement).value
    expect(link).toMatch(/&l=j1\.[A-Za-z0-9_-]+$/)
    w.unmount()
    window.history.replaceState(null, '', new URL(link).hash)
    const again = await start()
    expect(again.find('[data-testid="lineage"]').text()).toBe(text)
  })

  it('a link with a damaged lineage still opens its face, and says so', async () => {
    window.history.replaceState(null, '', `#m=m1&z=q8.${'A'.repeat(134)}&l=j1.AAAA`)
    const w = await start()
    expect(values(w)).toEqual(new Array(100).fill(-1))
    expect(w.find('[data-testid="error"]').text()).toContain('The face opened, without its lineage')
  })

  it('"Make me a face that is …" asks for the wishes and loads a face on click', async () => {
    withControls = true
    const w = await start()
    await vi.waitFor(() => expect(w.find('[data-testid="makeme-submit"]').exists()).toBe(true))
    await w.find('[data-testid="makeme-Smiling-yes"]').setValue(true)
    await w.find('[data-testid="makeme-Male-no"]').setValue(true)
    await w.find('[data-testid="makeme-age-from"]').setValue('30')
    await w.find('[data-testid="makeme-age-to"]').setValue('40')
    await w.find('[data-testid="makeme-count"]').setValue('3')
    await w.find('[data-testid="makeme-submit"]').trigger('submit')
    await vi.waitFor(() => expect(w.findAll('[data-testid="makeme-face"]')).toHaveLength(3))
    expect(calls.find((c) => c.url === '/api/sample')!.body).toEqual({
      model: 'm1',
      constraints: { Smiling: true, Male: false, Age: [30, 40] },
      n: 3,
    })
    expect(w.find('[data-testid="makeme-summary"]').text()).toBe('2 of 3 faces as asked (64 tried, 420 ms)')
    expect(w.findAll('[data-testid="makeme-face"]').map((f) => f.text())).toEqual(['✓', '✗', '✓'])
    await w.findAll('[data-testid="makeme-face"]')[1].trigger('click')
    await flushPromises()
    expect(values(w)).toEqual(randomZ(100, 21))
    expect(faceSrc(w)).toBe('data:image/png;base64,SAMPLE1')
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(2))

    await w.find('[data-testid="makeme-count"]').setValue('40')
    await w.find('[data-testid="makeme-submit"]').trigger('submit')
    await vi.waitFor(() => expect(w.find('[data-testid="error"]').text()).toContain('“How many” must be a whole number from 1 to 16'))
  })

  it('the seed box loads the face of a seed, and says what is wrong with a bad one', async () => {
    const w = await start()
    await w.find('[data-testid="seed-input"]').setValue('42')
    await w.find('[data-testid="seed-go"]').trigger('submit')
    await vi.waitFor(() => expect(values(w)).toEqual(randomZ(100, 42)))
    expect(calls.at(-1)!.url).toBe('/api/random?seed=42&model=m1')
    expect(faceSrc(w)).toBe('data:image/png;base64,RANDOMm142')
    await w.find('[data-testid="seed-input"]').setValue('-3')
    await w.find('[data-testid="seed-go"]').trigger('submit')
    expect(w.find('[data-testid="error"]').text()).toContain('Seed: a seed is a whole number from 0 to 4294967295')
  })

  it('saved faces survive a reload; load, delete, export and import', async () => {
    const w = await start()
    await vi.waitFor(() => expect(w.find('[data-testid="gallery-save"]').attributes('disabled')).toBeUndefined())
    await w.find('[data-testid="gallery-name"]').setValue('First')
    await w.find('[data-testid="gallery-save"]').trigger('submit')
    expect(w.findAll('[data-testid="gallery-item"]')).toHaveLength(1)
    w.unmount()

    const again = await start()
    expect(again.findAll('[data-testid="gallery-item"]')).toHaveLength(1)
    expect(again.find('[data-testid="gallery-item"]').text()).toContain('First')
    await again.find('[data-testid="seed-input"]').setValue('5')
    await again.find('[data-testid="seed-go"]').trigger('submit')
    await vi.waitFor(() => expect(values(again)).toEqual(randomZ(100, 5)))
    await again.find('[data-testid="gallery-load"]').trigger('click')
    await flushPromises()
    expect(values(again)).toEqual(randomZ(100, 7))
    expect(faceSrc(again)).toBe('data:image/png;base64,RANDOMm17')

    const saved: Blob[] = []
    URL.createObjectURL = vi.fn((b: Blob) => (saved.push(b), 'blob:file'))
    const anchor = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined)
    await again.find('[data-testid="gallery-export"]').trigger('click')
    anchor.mockRestore()
    const file = await saved[0].text()
    expect(JSON.parse(file).faces).toHaveLength(1)

    await again.find('[data-testid="gallery-delete"]').trigger('click')
    expect(again.findAll('[data-testid="gallery-item"]')).toHaveLength(0)

    const importing = async (text: string) => {
      const input = again.find('[data-testid="gallery-import"]')
      Object.defineProperty(input.element, 'files', { value: [new File([text], 'faces.json')], configurable: true })
      await input.trigger('change')
      await flushPromises()
    }
    await importing(JSON.stringify({ version: 1, faces: [{ model: 'm1', z: [1, 2] }] }))
    expect(again.find('[data-testid="error"]').text()).toContain('face 1: z holds 2 numbers, but model m1 takes 100')
    expect(again.findAll('[data-testid="gallery-item"]')).toHaveLength(0)
    await importing(file)
    expect(again.find('[data-testid="error"]').exists()).toBe(false)
    expect(again.findAll('[data-testid="gallery-item"]')).toHaveLength(1)
  })

  it('a corrupted saved gallery is kept aside and the page still works', async () => {
    localStorage.setItem('dcgan-face-studio.gallery', '{"version": 1, "faces": 3')
    const w = await start()
    expect(w.find('[data-testid="error"]').text()).toContain('The saved gallery could not be read')
    expect(w.findAll('[data-testid="gallery-item"]')).toHaveLength(0)
    expect(localStorage.getItem('dcgan-face-studio.gallery.unreadable')).toBe('{"version": 1, "faces": 3')
  })

  it('a face from a photo goes onto the grid and into the history like any new face', async () => {
    const w = await start()
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(1))
    const input = w.find('[data-testid="photo-input"]')
    Object.defineProperty(input.element, 'files', { value: [new File([new Uint8Array([1])], 'me.png', { type: 'image/png' })], configurable: true })
    await input.trigger('change')
    await vi.waitFor(() => expect(w.find('[data-testid="photo-result"]').exists()).toBe(true))
    const sent = calls.find((c) => c.url === '/api/invert')!.body!
    expect(sent.model).toBe('m1')
    expect((sent.photo as File).name).toBe('me.png')
    expect(w.find('[data-testid="photo-crop"]').attributes('src')).toBe('data:image/png;base64,CROP')
    expect(values(w)).toEqual(randomZ(100, 99))
    expect(faceSrc(w)).toBe('data:image/png;base64,PHOTO')
    await vi.waitFor(() => expect(w.findAll('[data-testid="history-item"]')).toHaveLength(2))
    expect(generateCalls()).toHaveLength(0) // the face came with the answer
    expect(w.find('[data-testid="notice"]').text()).toBe('Loaded into the editor')
    await w.find('[data-testid="undo"]').trigger('click') // one undo step, back to the face before
    await flushPromises()
    expect(values(w)).toEqual(randomZ(100, 7))
  })
})
