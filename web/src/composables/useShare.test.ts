// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ref } from 'vue'
import { zKey } from '../editor'
import { useShare } from './useShare'

const CONTRACT = { dim: 3, prior: 'uniform', low: -1, high: 1 }

afterEach(() => {
  vi.unstubAllGlobals()
  window.history.replaceState(null, '', '/')
})

describe('useShare', () => {
  it('puts the link into the address bar and the clipboard, and marks it stale when z changes', async () => {
    const writeText = vi.fn(async () => undefined)
    vi.stubGlobal('navigator', { clipboard: { writeText } })
    const current = ref<string | null>(zKey('m', [0, 0.5, 1]))
    const notify = vi.fn()
    const s = useShare(current, { notify })
    await s.share('m', [0, 0.5, 1], CONTRACT)
    expect(s.link.value).toMatch(/#m=m&z=/)
    expect(window.location.href).toBe(s.link.value)
    expect(writeText).toHaveBeenCalledWith(s.link.value)
    expect(notify).toHaveBeenCalledWith('Share link copied to the clipboard')
    expect(s.stale.value).toBe(false)
    current.value = zKey('m', [1, 1, 1])
    expect(s.stale.value).toBe(true)
  })

  it('without a clipboard the link waits in the box', async () => {
    vi.stubGlobal('navigator', {})
    const notify = vi.fn()
    const s = useShare(ref(null), { notify })
    await s.share('m', [0, 0, 0], CONTRACT)
    expect(s.link.value).not.toBe('')
    expect(notify).toHaveBeenCalledWith('Share link ready: copy it from the box')
  })
})
