/**
 * Live face updates while painting: changes are gathered for `delay` ms, at most
 * one request is in flight, the newest z is sent when it returns, and cancel()
 * drops whatever is pending or in flight (its answer is ignored).
 */
export interface LiveResult {
  blob: Blob
  ms: number
}

export type LiveGenerate = (z: number[], signal: AbortSignal) => Promise<Blob>

export interface LiveCallbacks {
  onFace(z: number[], result: LiveResult): void
  onError(error: unknown): void
  onBusy?(busy: boolean): void
}

export class LiveFace {
  private pending: number[] | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private inFlight: AbortController | null = null
  private epoch = 0

  constructor(
    private readonly generate: LiveGenerate,
    private readonly callbacks: LiveCallbacks,
    readonly delay = 80,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Asks for the face of z (soon). */
  schedule(z: number[]): void {
    this.pending = z
    this.callbacks.onBusy?.(true)
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null
        void this.flush()
      }, this.delay)
    }
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
    if (this.inFlight || !this.pending) return
    const z = this.pending
    this.pending = null
    const controller = new AbortController()
    this.inFlight = controller
    const epoch = this.epoch
    const started = this.now()
    try {
      const blob = await this.generate(z, controller.signal)
      if (epoch === this.epoch) this.callbacks.onFace(z, { blob, ms: this.now() - started })
    } catch (error) {
      if (epoch === this.epoch && !controller.signal.aborted) this.callbacks.onError(error)
    } finally {
      if (this.inFlight === controller) this.inFlight = null
      if (epoch === this.epoch) {
        if (this.pending) void this.flush()
        else if (this.timer === null) this.callbacks.onBusy?.(false)
      }
    }
  }
}
