/**
 * The kind of screen, from media queries: `narrow` (one column: the face sticks
 * above the grid while painting) and `touch` (no hover; mouse and keyboard hints
 * are left out). Without matchMedia (tests, old browsers) both are false.
 */
import { onScopeDispose, ref, type Ref } from 'vue'

/** The width below which the page has one column (as in style.css). */
export const NARROW_QUERY = '(max-width: 760px)'
export const TOUCH_QUERY = '(hover: none), (pointer: coarse)'

function watchQuery(query: string, match: ((query: string) => MediaQueryList) | undefined): Ref<boolean> {
  const on = ref(false)
  const list = match?.(query)
  if (!list) return on
  on.value = list.matches
  const update = (e: MediaQueryListEvent): void => {
    on.value = e.matches
  }
  list.addEventListener('change', update)
  onScopeDispose(() => list.removeEventListener('change', update))
  return on
}

export function useLayout(match: ((query: string) => MediaQueryList) | undefined = window.matchMedia?.bind(window)) {
  const narrow = watchQuery(NARROW_QUERY, match)
  const touch = watchQuery(TOUCH_QUERY, match)
  return { narrow, touch }
}
