// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { computed, effectScope, nextTick, reactive, ref } from 'vue'
import { Editor, zKey } from '../editor'
import type { RgbaImage } from '../engine'
import type { Painter, Picture } from '../facescreen'
import { LIVE_DELAY_MS, useFaceOnShow } from './useFaceOnShow'

vi.mock('../canvas', () => ({
  canvasEncoder: { dataUrl: async (i: RgbaImage) => `data:image/png;base64,PIX${i.data[0]}` },
  domPainter: null,
}))

const CONTRACT = { dim: 2, prior: 'uniform', low: -1, high: 1 }

afterEach(() => vi.unstubAllGlobals())

/** Draws by name: pixels by their red, PNGs once "decoded". */
function fakePainter() {
  const drawn: string[] = []
  const painter: Painter = {
    decode: async (p) => ({ p }) as unknown as ImageBitmap,
    draw: (_c, image) => drawn.push('data' in image ? `pixels:${image.data[0]}` : 'png'),
    release: () => undefined,
  }
  return { painter, drawn }
}

function setup(generate?: (z: number[]) => Promise<Picture>, delay?: () => number) {
  // a Response-like answer whose blob is jsdom's (FileReader reads only those)
  const fetch = vi.fn(async (_url: string, init: RequestInit) => ({
    ok: true,
    status: 200,
    blob: async () => new Blob([`png:${init.body}`], { type: 'image/png' }),
  }))
  vi.stubGlobal('fetch', fetch)
  const editor = reactive(new Editor(CONTRACT)) as Editor
  const modelName = ref('m')
  const currentKey = computed(() => zKey(modelName.value, editor.z))
  const messages = { showError: vi.fn(), clearError: vi.fn() }
  const { painter, drawn } = fakePainter()
  const scope = effectScope()
  const face = scope.run(() => useFaceOnShow(modelName, editor, currentKey, messages, generate, delay, painter))!
  face.screen.attach(document.createElement('canvas'))
  return { fetch, editor, face, scope, messages, drawn }
}

describe('useFaceOnShow', () => {
  it('asks for the face of a new z, and takes a face seen before from the history', async () => {
    const { fetch, editor, face, scope } = setup()
    editor.setZ([0.5, 0.5])
    await nextTick()
    await vi.waitFor(() => expect(face.screen.picture).toBeInstanceOf(Blob), { timeout: LIVE_DELAY_MS * 10 })
    expect(face.key.value).toBe(zKey('m', [0.5, 0.5]))
    expect(JSON.parse(String(fetch.mock.calls[0][1].body)).z).toEqual([0.5, 0.5])
    await vi.waitFor(() => expect(face.recent.items).toHaveLength(1)) // with a durable image
    const first = face.currentFace.value!
    expect(first.z).toEqual([0.5, 0.5])
    expect(first.src).toMatch(/^data:image\/png;base64,/)

    editor.setZ([-1, 1])
    await vi.waitFor(() => expect(face.key.value).toBe(zKey('m', [-1, 1])), { timeout: LIVE_DELAY_MS * 10 })
    editor.undo()
    await nextTick()
    expect(face.screen.picture).toBe(first.src) // from the history, no request
    expect(fetch).toHaveBeenCalledTimes(2)
    scope.stop()
  })

  it("draws the browser's pixels as they come, and makes the durable image after that frame", async () => {
    const faces: number[][] = []
    const generate = async (z: number[]) => {
      faces.push(z)
      return { width: 1, height: 1, data: Uint8ClampedArray.from([Math.round((z[0] + 1) * 100), 0, 0, 255]) }
    }
    const frames: (() => void)[] = []
    vi.stubGlobal('requestAnimationFrame', (f: () => void) => frames.push(f))
    const { editor, face, scope, drawn, fetch } = setup(generate, () => 0)
    editor.setZ([0.5, 0])
    await nextTick()
    expect(faces).toEqual([[0.5, 0]]) // no delay
    await vi.waitFor(() => expect(drawn).toEqual(['pixels:150']))
    expect(face.currentFace.value).toBeNull() // not before the frame
    frames.shift()!()
    await vi.waitFor(() => expect(face.currentFace.value?.src).toBe('data:image/png;base64,PIX150'))
    expect(face.recent.items).toHaveLength(1)
    expect(fetch).not.toHaveBeenCalled()
    scope.stop()
  })

  it('shows a failed request in the banner', async () => {
    const { editor, scope, messages } = setup()
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ detail: 'bad z' }), { status: 422 })))
    editor.setZ([1, 1])
    await vi.waitFor(() => expect(messages.showError).toHaveBeenCalled(), { timeout: LIVE_DELAY_MS * 10 })
    expect(messages.showError).toHaveBeenCalledWith('Server error 422 on /api/generate: bad z', 'live')
    scope.stop()
  })
})
