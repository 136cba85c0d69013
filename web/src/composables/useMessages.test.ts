import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'
import { useMessages } from './useMessages'

describe('useMessages', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('clears an error only for its own source', () => {
    const scope = effectScope()
    const m = scope.run(() => useMessages())!
    m.showError('the link is bad', 'link')
    m.clearError('download')
    expect(m.error.value).toEqual({ message: 'the link is bad', source: 'link' })
    m.clearError('link')
    expect(m.error.value).toBeNull()
    m.showError('boom')
    m.dismissError()
    expect(m.error.value).toBeNull()
    scope.stop()
  })

  it('any later successful action clears a stale error', () => {
    const scope = effectScope()
    const m = scope.run(() => useMessages())!
    m.showError('Paste: z must hold 100 numbers', 'paste')
    m.clearError('random') // a background success of another source leaves it
    expect(m.error.value?.source).toBe('paste')
    m.succeeded()
    expect(m.error.value).toBeNull()
    scope.stop()
  })

  it('a notice disappears after its time; a newer one restarts the clock', () => {
    const scope = effectScope()
    const m = scope.run(() => useMessages(1000))!
    m.notify('first')
    vi.advanceTimersByTime(800)
    m.notify('second')
    vi.advanceTimersByTime(800)
    expect(m.notice.value).toBe('second')
    vi.advanceTimersByTime(200)
    expect(m.notice.value).toBe('')
    m.notify('third')
    scope.stop() // unmounting drops the pending timer
    vi.advanceTimersByTime(2000)
    expect(m.notice.value).toBe('third')
  })
})
