// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { computed, effectScope, nextTick, reactive, ref } from 'vue'
import { Editor, zKey } from '../editor'
import { LIVE_DELAY_MS, useFaceOnShow } from './useFaceOnShow'

const CONTRACT = { dim: 2, prior: 'uniform', low: -1, high: 1 }

let urls = 0
beforeEach(() => {
  URL.createObjectURL = vi.fn(() => `blob:face-${++urls}`)
  URL.revokeObjectURL = vi.fn()
})
afterEach(() => vi.unstubAllGlobals())

function setup() {
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
  const scope = effectScope()
  const face = scope.run(() => useFaceOnShow(modelName, editor, currentKey, messages))!
  return { fetch, editor, face, scope, messages }
}

describe('useFaceOnShow', () => {
  it('asks for the face of a new z, and takes a face seen before from the history', async () => {
    const { fetch, editor, face, scope } = setup()
    editor.setZ([0.5, 0.5])
    await nextTick()
    await vi.waitFor(() => expect(face.src.value).toBe('blob:face-1'), { timeout: LIVE_DELAY_MS * 10 })
    expect(JSON.parse(String(fetch.mock.calls[0][1].body)).z).toEqual([0.5, 0.5])
    await vi.waitFor(() => expect(face.recent.items).toHaveLength(1)) // with a durable image
    const first = face.currentFace.value!
    expect(first.z).toEqual([0.5, 0.5])

    editor.setZ([-1, 1])
    await vi.waitFor(() => expect(face.src.value).toBe('blob:face-2'), { timeout: LIVE_DELAY_MS * 10 })
    editor.undo()
    await nextTick()
    expect(face.src.value).toBe(first.src) // from the history, no request
    expect(fetch).toHaveBeenCalledTimes(2)
    scope.stop()
    expect(URL.revokeObjectURL).toHaveBeenCalledWith('blob:face-2')
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
