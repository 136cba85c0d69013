// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { effectScope } from 'vue'
import { NARROW_QUERY, TOUCH_QUERY, useLayout } from './useLayout'

/** A matchMedia whose answers the test changes. */
function fakeMedia(initial: Record<string, boolean>) {
  const listeners = new Map<string, ((e: MediaQueryListEvent) => void)[]>()
  const match = (query: string) =>
    ({
      matches: initial[query] ?? false,
      addEventListener: (_: string, f: (e: MediaQueryListEvent) => void) => listeners.set(query, [...(listeners.get(query) ?? []), f]),
      removeEventListener: (_: string, f: (e: MediaQueryListEvent) => void) =>
        listeners.set(query, (listeners.get(query) ?? []).filter((g) => g !== f)),
    }) as unknown as MediaQueryList
  const set = (query: string, matches: boolean) =>
    (listeners.get(query) ?? []).forEach((f) => f({ matches } as MediaQueryListEvent))
  return { match, set, listeners }
}

describe('useLayout', () => {
  it('follows the media queries, and stops listening when unmounted', () => {
    const media = fakeMedia({ [NARROW_QUERY]: true })
    const scope = effectScope()
    const layout = scope.run(() => useLayout(media.match))!
    expect([layout.narrow.value, layout.touch.value]).toEqual([true, false])
    media.set(TOUCH_QUERY, true)
    media.set(NARROW_QUERY, false)
    expect([layout.narrow.value, layout.touch.value]).toEqual([false, true])
    scope.stop()
    expect([...media.listeners.values()].flat()).toHaveLength(0)
  })

  it('without matchMedia the page is wide and has a mouse', () => {
    const scope = effectScope()
    const layout = scope.run(() => useLayout(undefined))!
    expect([layout.narrow.value, layout.touch.value]).toEqual([false, false])
    scope.stop()
  })
})
