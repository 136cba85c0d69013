/**
 * Live face updates while painting (or sliding): changes are gathered for `delay`
 * ms (a number, or a function read at each change: 0 when faces are made in the
 * browser, where no round trip is worth saving, and then the request starts at once,
 * with no timer task to wait behind input and rendering), at most one request is in
 * flight, the newest request is sent when it returns, and cancel() drops whatever is
 * pending or in flight (its answer is ignored). By default a request is a z and its
 * answer a PNG; the sliders send edit requests and get edit answers.
 */
export interface LiveResult<R = Blob> {
  result: R
  ms: number
}

export type LiveGenerate<Q = number[], R = Blob> = (request: Q, signal: AbortSignal) => Promise<R>

export interface LiveCallbacks<Q = number[], R = Blob> {
  onFace(request: Q, result: LiveResult<R>): void
  onError(error: unknown): void
  onBusy?(busy: boolean): void
}

export class LiveFace<Q = number[], R = Blob> {
  private pending: Q | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private inFlight: AbortController | null = null
  private epoch = 0

  constructor(
    private readonly generate: LiveGenerate<Q, R>,
    private readonly callbacks: LiveCallbacks<Q, R>,
    readonly delay: number | (() => number) = 80,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Nothing pending, waiting or in flight. */
  get idle(): boolean {
    return this.pending === null && this.timer === null && this.inFlight === null
  }

  /** Asks for the face of z, or the answer to `request` (soon). */
  schedule(request: Q): void {
    this.pending = request
    this.callbacks.onBusy?.(true)
    if (this.timer !== null) return
    const wait = typeof this.delay === 'function' ? this.delay() : this.delay
    if (wait <= 0) {
      void this.flush() // with a request in flight, the newest goes when it returns
      return
    }
    this.timer = setTimeout(() => {
      this.timer = null
      void this.flush()
    }, wait)
  }

  /** Forgets pending work; an answer still on its way is ignored. */
  cancel(): void {
    this.epoch++
    this.pending = null
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.inFlight?.abort()
    this.inFlight = null
    this.callbacks.onBusy?.(false)
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.pending === null) return
    const request = this.pending
    this.pending = null
    const controller = new AbortController()
    this.inFlight = controller
    const epoch = this.epoch
    const started = this.now()
    try {
      const result = await this.generate(request, controller.signal)
      if (epoch === this.epoch) this.callbacks.onFace(request, { result, ms: this.now() - started })
    } catch (error) {
      if (epoch === this.epoch && !controller.signal.aborted) this.callbacks.onError(error)
    } finally {
      if (this.inFlight === controller) this.inFlight = null
      if (epoch === this.epoch) {
        if (this.pending !== null) void this.flush()
        else if (this.timer === null) this.callbacks.onBusy?.(false)
      }
    }
  }
}
