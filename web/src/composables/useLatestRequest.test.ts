import { describe, expect, it } from 'vitest'
import { effectScope } from 'vue'
import { useLatestRequest } from './useLatestRequest'

/** A request that answers when told to, and rejects like fetch when aborted. */
function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  let signal!: AbortSignal
  const request = (s: AbortSignal) =>
    new Promise<T>((res, rej) => {
      signal = s
      resolve = res
      reject = rej
      s.addEventListener('abort', () => rej(new DOMException('aborted', 'AbortError')))
    })
  return { request, resolve: (v: T) => resolve(v), reject: (e: unknown) => reject(e), signal: () => signal }
}

describe('useLatestRequest', () => {
  it('a newer request aborts the older one, whose answer is dropped', async () => {
    const scope = effectScope()
    const latest = scope.run(() => useLatestRequest())!
    const first = deferred<string>()
    const second = deferred<string>()
    const older = latest.run(first.request)
    const newer = latest.run(second.request)
    expect(first.signal().aborted).toBe(true)
    expect(latest.loading.value).toBe(true)
    second.resolve('B')
    expect(await older).toBeUndefined()
    expect(await newer).toBe('B')
    expect(latest.loading.value).toBe(false)
    scope.stop()
  })

  it('throws the errors of the newest request only; abort and unmount stop it quietly', async () => {
    const scope = effectScope()
    const latest = scope.run(() => useLatestRequest())!
    const failing = deferred<string>()
    const pending = latest.run(failing.request)
    failing.reject(new Error('server error 500'))
    await expect(pending).rejects.toThrow('server error 500')
    expect(latest.loading.value).toBe(false)

    const aborted = deferred<string>()
    const result = latest.run(aborted.request)
    latest.abort()
    expect(await result).toBeUndefined()
    expect(latest.loading.value).toBe(false)

    const last = deferred<string>()
    void latest.run(last.request)
    scope.stop()
    expect(last.signal().aborted).toBe(true)
  })
})
