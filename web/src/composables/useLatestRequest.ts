/**
 * Requests where only the newest counts (a panel recomputing as its inputs
 * change): starting one aborts the one before, and the answer or error of a
 * superseded or aborted request is dropped. Unmounting aborts the last one.
 */
import { onScopeDispose, ref } from 'vue'
import { isAbort } from '../api'

export function useLatestRequest() {
  const loading = ref(false)
  let controller: AbortController | null = null

  function abort(): void {
    controller?.abort()
    controller = null
    loading.value = false
  }

  /** The answer of `request`, or undefined when a newer request or abort() overtook it; its errors are thrown. */
  async function run<T>(request: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    controller?.abort()
    const mine = new AbortController()
    controller = mine
    loading.value = true
    try {
      const answer = await request(mine.signal)
      return controller === mine ? answer : undefined
    } catch (error) {
      if (isAbort(error) || controller !== mine) return undefined
      throw error
    } finally {
      if (controller === mine) {
        controller = null
        loading.value = false
      }
    }
  }

  onScopeDispose(abort)

  return { loading, run, abort }
}
