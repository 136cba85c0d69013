/**
 * The generator running in the browser (issue #25): the model's ONNX graph on the
 * best execution provider that works (WebGPU → WebGL → WASM), downloaded once with
 * progress and kept in the Cache API, its output turned into pixels exactly as the
 * server's `to_uint8` does. onnxruntime-web itself sits behind `Runtime` (see ort.ts)
 * so that everything here runs in tests with a fake.
 */
import type { ModelInfo, WebModel } from './types'

export type Backend = 'webgpu' | 'webgl' | 'wasm'
/** Preferred first. */
export const BACKENDS: readonly Backend[] = ['webgpu', 'webgl', 'wasm']
/** What the page says makes its faces (the `data-engine` attribute). */
export type EngineName = `local-${Backend}` | 'server'

export interface Features {
  webgpu: boolean
  webgl: boolean
}

/**
 * `?engine=webgpu|webgl|wasm|server` in the page's address: that one backend only (tried even when the
 * browser seems to lack it, with no fallback), or no local engine at all (the server makes the faces);
 * null (no parameter, or another value): the best backend that works. For measuring one backend
 * (benchmarks/browser.py) or trying one by hand; with it the page also sets `window.__dcganEngine` (useEngine).
 */
export type EngineChoice = Backend | 'server'

export function engineChoice(search: string): EngineChoice | null {
  const value = new URLSearchParams(search).get('engine')
  return value === 'server' || BACKENDS.includes(value as Backend) ? (value as EngineChoice) : null
}

/** The backends to try, best first: those the browser seems to have, and WASM always (last). */
export function backendOrder(features: Features): Backend[] {
  return BACKENDS.filter((b) => b === 'wasm' || features[b])
}

interface GpuLike {
  requestAdapter(): Promise<unknown>
}

/** Whether WebGPU (an adapter, not just the API) and WebGL are there. */
export async function detectFeatures(
  nav: { gpu?: GpuLike } | undefined,
  makeCanvas: () => { getContext(kind: string): unknown } | null,
): Promise<Features> {
  let webgpu = false
  try {
    webgpu = !!nav?.gpu && !!(await nav.gpu.requestAdapter())
  } catch {
    webgpu = false
  }
  let webgl = false
  try {
    const canvas = makeCanvas()
    const gl = (canvas?.getContext('webgl2') ?? canvas?.getContext('webgl')) as {
      getExtension?(name: string): { loseContext?(): void } | null
    } | null
    webgl = !!gl
    gl?.getExtension?.('WEBGL_lose_context')?.loseContext?.()
  } catch {
    webgl = false
  }
  return { webgpu, webgl }
}

/** An RGBA picture (ImageData's shape, without needing a DOM). */
export interface RgbaImage {
  width: number
  height: number
  data: Uint8ClampedArray
}

/**
 * A batch of images [N, H, W, C] (or [N, C, H, W]) with C = 1 or 3 as RGBA pictures (grey repeated, alpha 255),
 * each value in `range` as a byte as dcgan.images.to_uint8 does it for [-1, 1]: clip(rint((x + 1) * 127.5), 0, 255)
 * in float32 arithmetic. A Uint8ClampedArray does the clip and the rint (halves to even; NaN gives 0) as it stores.
 */
export function tensorToImages(
  data: ArrayLike<number>,
  dims: readonly number[],
  layout: 'NHWC' | 'NCHW' = 'NHWC',
  range: readonly [number, number] = [-1, 1],
): RgbaImage[] {
  if (dims.length !== 4) throw new Error(`the generator gave a tensor of shape [${dims.join(', ')}], not 4-D images`)
  const [n, a, b, c] = dims
  const [height, width, channels] = layout === 'NHWC' ? [a, b, c] : [b, c, a]
  if (channels !== 1 && channels !== 3) throw new Error(`images with ${channels} channels (${layout}) are not RGB nor grey`)
  if (data.length !== n * height * width * channels) {
    throw new Error(`the generator gave ${data.length} values for shape [${dims.join(', ')}]`)
  }
  const [low, high] = range
  const scale = Math.fround(255 / (high - low))
  const plane = height * width
  const [pixelStep, channelStep] = layout === 'NHWC' ? [channels, 1] : [1, plane]
  const images: RgbaImage[] = []
  for (let i = 0; i < n; i++) {
    const out = new Uint8ClampedArray(plane * 4).fill(255)
    for (let k = 0; k < 3; k++) {
      let at = i * plane * channels + (channels === 1 ? 0 : k) * channelStep
      for (let o = k; o < out.length; o += 4, at += pixelStep) out[o] = Math.fround(Math.fround(data[at] - low) * scale)
    }
    images.push({ width, height, data: out })
  }
  return images
}

// ---------- download ----------

/** The part of the Cache API used (so tests can fake it). */
export interface CacheLike {
  match(key: string): Promise<Response | undefined>
  put(key: string, response: Response): Promise<void>
  keys(): Promise<readonly { url: string }[]>
  delete(key: string | { url: string }): Promise<boolean>
}

export interface DownloadOptions {
  fetch?: (url: string, init?: RequestInit) => Promise<Response>
  /** Where a downloaded model is kept for the next visit (null: the HTTP cache only). */
  cache?: CacheLike | null
  /** Called as bytes come in: fraction in [0, 1] (null when the size is unknown), bytes so far. */
  onProgress?: (fraction: number | null, loaded: number) => void
  /** SHA-256 as hex, or null when the browser cannot compute it (not a secure context). */
  digest?: (bytes: Uint8Array) => Promise<string | null>
  signal?: AbortSignal
  /** The page's URL, against which relative model URLs are read (default: location). */
  base?: string
}

/** The Cache API key of a model version: its URL with its sha256, so a new model is fetched anew. */
/** A file the page downloads and checks: the generator (`WebModel`) or the classifier. */
export type ModelFile = Pick<WebModel, 'url' | 'bytes' | 'sha256'>

export function cacheKey(web: ModelFile): string {
  return `${web.url}${web.url.includes('?') ? '&' : '?'}sha256=${web.sha256}`
}

/** SHA-256 with Web Crypto, or null where it is missing (plain-http pages other than localhost). */
export async function webDigest(bytes: Uint8Array): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle
  if (!subtle) return null
  const hash = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  return Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('')
}

async function readAll(response: Response, total: number | null, onProgress?: DownloadOptions['onProgress']): Promise<Uint8Array> {
  const fraction = (loaded: number) => (total ? Math.min(1, loaded / total) : null)
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer())
    onProgress?.(fraction(bytes.length), bytes.length)
    return bytes
  }
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let loaded = 0
  onProgress?.(fraction(0), 0)
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    loaded += value.length
    onProgress?.(fraction(loaded), loaded)
  }
  const bytes = new Uint8Array(loaded)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.length
  }
  return bytes
}

/** The model's ONNX bytes: from the cache when it has this version, else downloaded (with progress), checked and cached. */
export async function downloadModel(web: ModelFile, options: DownloadOptions = {}): Promise<Uint8Array> {
  const { cache = null, onProgress, digest = webDigest, signal } = options
  const doFetch = options.fetch ?? ((url, init) => fetch(url, init))
  const key = cacheKey(web)
  const cached = await cache?.match(key).catch(() => undefined)
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer())
    onProgress?.(1, bytes.length)
    return bytes
  }
  let response: Response
  try {
    response = await doFetch(web.url, { signal })
  } catch (error) {
    throw new Error(`could not download the face model (${(error as Error)?.message ?? error})`)
  }
  if (!response.ok) throw new Error(`could not download the face model: error ${response.status} on ${web.url}`)
  const length = Number(response.headers?.get('Content-Length'))
  const total = web.bytes > 0 ? web.bytes : length > 0 ? length : null
  const bytes = await readAll(response, total, onProgress)
  const hash = web.sha256 ? await digest(bytes) : null
  if (hash !== null && hash.toLowerCase() !== web.sha256.toLowerCase()) {
    throw new Error(`the face model downloaded is damaged (sha256 ${hash.slice(0, 12)}…, expected ${web.sha256.slice(0, 12)}…)`)
  }
  if (cache) {
    try {
      // older versions of the same model go
      const wanted = new URL(key, options.base ?? globalThis.location?.href ?? 'http://localhost/')
      for (const request of await cache.keys()) {
        const have = new URL(request.url, wanted)
        if (have.pathname === wanted.pathname && have.href !== wanted.href) await cache.delete(request)
      }
      await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': 'application/octet-stream' } }))
    } catch {
      /* a full or unavailable cache: the HTTP cache still helps */
    }
  }
  return bytes
}

// ---------- the engine ----------

export interface OutputTensor {
  data: ArrayLike<number>
  dims: readonly number[]
}

/** One loaded ONNX session on one backend. */
export interface Session {
  run(z: Float32Array, n: number, dim: number): Promise<OutputTensor>
  release(): Promise<void> | void
}

/** The attribute classifier's session: RGB images (N × 64 × 64 × 3, 0–255) → logits (N × A) and ages (N). */
export interface ClassifierSession {
  run(images: Float32Array, n: number): Promise<{ attributes: ArrayLike<number>; age: ArrayLike<number> }>
}

/** What LocalEngine (and the page's classifier) needs of onnxruntime-web. */
export interface Runtime {
  createSession(model: Uint8Array, backend: Backend, web: WebModel): Promise<Session>
  /** On WebAssembly: the classifier is small. */
  createClassifier(model: Uint8Array): Promise<ClassifierSession>
}

export interface LoadOptions extends Omit<DownloadOptions, 'onProgress'> {
  runtime: Runtime
  features: Features | Promise<Features>
  onProgress?: (fraction: number | null) => void
  /** Called with the measured ms per face after every batch. */
  onTiming?: (msPerFace: number) => void
  now?: () => number
  /** Try this backend only (`?engine=`), whatever the features say. */
  only?: Backend
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export class LocalEngine {
  /** ms per face of the last batch (null before the first). */
  msPerFace: number | null = null
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    readonly backend: Backend,
    private readonly session: Session,
    readonly web: WebModel,
    readonly dim: number,
    private readonly onTiming: (msPerFace: number) => void = () => undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get name(): EngineName {
    return `local-${this.backend}`
  }

  /**
   * Downloads the model and opens it on the first backend that works, in the order
   * of `backendOrder` (a backend works when a session opens and a warm-up face comes out).
   */
  static async load(info: ModelInfo, options: LoadOptions): Promise<LocalEngine> {
    const web = info.web
    if (!web) throw new Error(`model ${info.name} has no generator for the browser`)
    const bytes = await downloadModel(web, { ...options, onProgress: options.onProgress && ((f) => options.onProgress?.(f)) })
    const order = options.only ? [options.only] : backendOrder(await options.features)
    const failures: string[] = []
    for (const backend of order) {
      let session: Session | null = null
      try {
        session = await options.runtime.createSession(bytes, backend, web)
        const engine = new LocalEngine(backend, session, web, info.z.dim, options.onTiming, options.now)
        const zero = [new Array<number>(info.z.dim).fill((info.z.low + info.z.high) / 2)]
        await engine.generate(zero) // warm-up: shaders compiled, the backend shown to work
        await engine.generate(zero) // timed
        return engine
      } catch (error) {
        failures.push(`${backend}: ${message(error)}`)
        try {
          await session?.release()
        } catch {
          /* already broken */
        }
      }
    }
    throw new Error(`no backend could run the face model (${failures.join('; ')})`)
  }

  /** The faces of a batch of z (one run; runs queue, as a session runs one at a time). */
  generate(z: number[][]): Promise<RgbaImage[]> {
    const job = this.queue.then(() => this.run(z))
    this.queue = job.catch(() => undefined)
    return job
  }

  private async run(z: number[][]): Promise<RgbaImage[]> {
    const n = z.length
    if (!n) return []
    const flat = new Float32Array(n * this.dim)
    z.forEach((row, i) => {
      if (row.length !== this.dim) throw new Error(`z has ${row.length} numbers; this model takes ${this.dim}`)
      flat.set(row, i * this.dim)
    })
    const started = this.now()
    const out = await this.session.run(flat, n, this.dim)
    const images = tensorToImages(out.data, out.dims, this.web.layout, this.web.range)
    if (images.length !== n) throw new Error(`the generator gave ${images.length} faces for ${n} z`)
    this.msPerFace = (this.now() - started) / n
    this.onTiming(this.msPerFace)
    return images
  }

  async dispose(): Promise<void> {
    await this.session.release()
  }
}

// ---------- what the page says ----------

export type EngineState =
  | { state: 'off' }
  | { state: 'loading'; fraction: number | null }
  | { state: 'ready'; backend: Backend; msPerFace: number | null }
  | { state: 'failed'; error: string }

export function engineName(s: EngineState): EngineName {
  return s.state === 'ready' ? `local-${s.backend}` : 'server'
}

/** The engine label: who makes the faces (`serverless`: a static site, with no server to fall back on). */
export function engineLabel(s: EngineState, serverless = false): string {
  switch (s.state) {
    case 'off':
      return serverless ? 'No face model for the browser' : 'Server'
    case 'loading':
      return s.fraction === null ? 'Loading the face model…' : `Loading the face model: ${Math.floor(s.fraction * 100)}%`
    case 'ready': {
      const ms = s.msPerFace === null ? '' : ` · ${s.msPerFace < 10 ? s.msPerFace.toFixed(1) : Math.round(s.msPerFace)} ms/face`
      return `Local · ${s.backend}${ms}`
    }
    case 'failed':
      return serverless ? `The face model failed: ${s.error}` : `Server (the local model failed: ${s.error})`
  }
}
