import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LiveFace } from './live'

interface Call {
  z: number[]
  signal: AbortSignal
  resolve: (b: Blob) => void
  reject: (e: unknown) => void
}

function setup(delay: number | (() => number) = 80) {
  const calls: Call[] = []
  const faces: number[][] = []
  const errors: unknown[] = []
  const busy: boolean[] = []
  const live = new LiveFace(
    (z, signal) =>
      new Promise<Blob>((resolve, reject) => {
        calls.push({ z, signal, resolve, reject })
      }),
    { onFace: (z) => faces.push(z), onError: (e) => errors.push(e), onBusy: (b) => busy.push(b) },
    delay,
  )
  return { live, calls, faces, errors, busy }
}

const blob = () => new Blob(['png'])

describe('LiveFace', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('reads a delay function at each change: 0 sends at once, and the next change waits again', async () => {
    let wait = 0
    const { live, calls, faces } = setup(() => wait)
    live.schedule([1])
    expect(calls.map((c) => c.z)).toEqual([[1]]) // no timer task in between
    live.schedule([2])
    live.schedule([3])
    calls[0].resolve(blob())
    await vi.advanceTimersByTimeAsync(0)
    expect(calls.map((c) => c.z)).toEqual([[1], [3]]) // the newest, once the one in flight is in
    calls[1].resolve(blob())
    await vi.advanceTimersByTimeAsync(0)
    expect(faces).toEqual([[1], [3]])
    calls.length = 0
    wait = 80
    live.schedule([2])
    await vi.advanceTimersByTimeAsync(79)
    expect(calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls.map((c) => c.z)).toEqual([[2]])
  })

  it('gathers quick changes into one request after the delay', async () => {
    const { live, calls, faces, busy } = setup()
    live.schedule([1])
    live.schedule([2])
    live.schedule([3])
    expect(calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(80)
    expect(calls.map((c) => c.z)).toEqual([[3]])
    expect(busy.at(-1)).toBe(true)
    calls[0].resolve(blob())
    await vi.advanceTimersByTimeAsync(0)
    expect(faces).toEqual([[3]])
    expect(busy.at(-1)).toBe(false) // the spinner stops once the last face is in
  })

  it('keeps one request in flight and sends the newest z when it returns', async () => {
    const { live, calls, faces } = setup()
    live.schedule([1])
    await vi.advanceTimersByTimeAsync(80)
    live.schedule([2])
    live.schedule([3])
    await vi.advanceTimersByTimeAsync(200)
    expect(calls).toHaveLength(1)
    calls[0].resolve(blob())
    await vi.advanceTimersByTimeAsync(0)
    expect(calls.map((c) => c.z)).toEqual([[1], [3]])
    calls[1].resolve(blob())
    await vi.advanceTimersByTimeAsync(0)
    expect(faces).toEqual([[1], [3]])
  })

  it('ignores an answer that arrives after cancel (stale) and aborts it', async () => {
    const { live, calls, faces, errors } = setup()
    live.schedule([1])
    await vi.advanceTimersByTimeAsync(80)
    live.cancel()
    expect(calls[0].signal.aborted).toBe(true)
    calls[0].resolve(blob())
    await vi.advanceTimersByTimeAsync(0)
    expect(faces).toEqual([])
    live.schedule([2])
    await vi.advanceTimersByTimeAsync(80)
    calls[1].reject(new Error('boom'))
    await vi.advanceTimersByTimeAsync(0)
    expect(errors).toHaveLength(1)
  })

  it('cancel drops a pending change, and the next change is sent after the delay', async () => {
    const { live, calls, busy } = setup()
    live.schedule([1])
    live.cancel()
    expect(busy.at(-1)).toBe(false)
    await vi.advanceTimersByTimeAsync(200)
    expect(calls).toHaveLength(0)
    live.schedule([5])
    await vi.advanceTimersByTimeAsync(80)
    expect(calls.map((c) => c.z)).toEqual([[5]])
  })

  it('reports the round-trip time', async () => {
    let t = 1000
    const seen: number[] = []
    const live = new LiveFace(
      async () => {
        t += 42
        return blob()
      },
      { onFace: (_z, r) => seen.push(r.ms), onError: () => undefined },
      80,
      () => t,
    )
    live.schedule([1])
    await vi.advanceTimersByTimeAsync(80)
    expect(seen).toEqual([42])
  })
})

describe('LiveFace with other requests', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('carries any request and answer, and says when it is idle', async () => {
    const answers: [string, number][] = []
    const live = new LiveFace<string, number>(async (q) => q.length, {
      onFace: (q, { result }) => answers.push([q, result]),
      onError: () => undefined,
    })
    expect(live.idle).toBe(true)
    live.schedule('ab')
    live.schedule('abc')
    expect(live.idle).toBe(false)
    await vi.advanceTimersByTimeAsync(80)
    expect(answers).toEqual([['abc', 3]])
    expect(live.idle).toBe(true)
  })
})
