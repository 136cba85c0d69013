import { describe, expect, it, vi } from 'vitest'
import {
  LocalEngine,
  backendOrder,
  cacheKey,
  detectFeatures,
  downloadModel,
  engineLabel,
  engineChoice,
  engineName,
  tensorToImages,
  type Backend,
  type CacheLike,
  type Runtime,
} from './engine'
import type { ModelInfo, WebModel } from './types'

const WEB: WebModel = {
  url: '/api/models/m1/generator.onnx',
  bytes: 10,
  sha256: 'ab'.repeat(32),
  input: 'z',
  output: 'image',
  layout: 'NHWC',
  range: [-1, 1],
}

const INFO: ModelInfo = { name: 'm1', z: { dim: 3, prior: 'uniform', low: -1, high: 1 }, image_size: 2, channels: 3, web: WEB }

/** The bytes of grey values (one image, one row), as tensorToImages makes them. */
function bytes(xs: number[], range?: [number, number]): number[] {
  const [image] = tensorToImages(Float32Array.from(xs), [1, 1, xs.length, 1], 'NHWC', range)
  return xs.map((_, i) => image.data[i * 4])
}

describe('bytes of the output', () => {
  it('match numpy clip(rint((x + 1) * 127.5), 0, 255) in float32, halves to even', () => {
    // expected values computed with numpy (dcgan.images.to_uint8) on these float32 inputs
    const xs = [-1, -0.99607843, 0.00392157, -0.0039215689, 0.5, 1, 1.2, -1.5, 0.9960784, 0]
    expect(bytes(xs)).toEqual([0, 0, 128, 127, 191, 255, 255, 0, 254, 128])
    // exact halves: x.5 goes to the even neighbour (Math.round would give 129 and 255)
    expect(bytes([0.007843137718737125, 0.9960784316062927, 0.9882352948188782, NaN])).toEqual([128, 254, 254, 0])
  })

  it('map another range onto 0..255', () => {
    expect(bytes([0, 0.5, 1], [0, 1])).toEqual([0, 128, 255])
  })
})

describe('tensorToImages', () => {
  it('reads NHWC RGB batches into RGBA pixels', () => {
    // 2 images of 1×2 pixels
    const data = Float32Array.from([-1, 0, 1, 1, 1, 1, /* image 2 */ 1, -1, -1, -1, -1, 1])
    const [a, b] = tensorToImages(data, [2, 1, 2, 3])
    expect([a.width, a.height]).toEqual([2, 1])
    expect(Array.from(a.data)).toEqual([0, 128, 255, 255, 255, 255, 255, 255])
    expect(Array.from(b.data)).toEqual([255, 0, 0, 255, 0, 0, 255, 255])
  })

  it('reads NCHW, and repeats a grey channel', () => {
    // one image 1×2, channels first: R plane, G plane, B plane
    const rgb = tensorToImages(Float32Array.from([-1, 1, 0, 0, 1, -1]), [1, 3, 1, 2], 'NCHW')[0]
    expect(Array.from(rgb.data)).toEqual([0, 128, 255, 255, 255, 128, 0, 255])
    const grey = tensorToImages(Float32Array.from([1, -1]), [1, 1, 2, 1])[0]
    expect(Array.from(grey.data)).toEqual([255, 255, 255, 255, 0, 0, 0, 255])
  })

  it('says what is wrong with a bad tensor', () => {
    expect(() => tensorToImages(new Float32Array(6), [1, 2, 3])).toThrow(/not 4-D/)
    expect(() => tensorToImages(new Float32Array(5), [1, 1, 2, 3])).toThrow(/5 values/)
    expect(() => tensorToImages(new Float32Array(8), [1, 1, 2, 4])).toThrow(/4 channels/)
  })
})

describe('backends', () => {
  it('tries WebGPU, then WebGL, then WASM, skipping what the browser lacks', () => {
    expect(backendOrder({ webgpu: true, webgl: true })).toEqual(['webgpu', 'webgl', 'wasm'])
    expect(backendOrder({ webgpu: false, webgl: true })).toEqual(['webgl', 'wasm'])
    expect(backendOrder({ webgpu: true, webgl: false })).toEqual(['webgpu', 'wasm'])
    expect(backendOrder({ webgpu: false, webgl: false })).toEqual(['wasm'])
  })

  it('detects WebGPU by its adapter and WebGL by a context', async () => {
    const canvas = (gl: unknown) => () => ({ getContext: (kind: string) => (kind === 'webgl' ? gl : null) })
    const adapter = (a: unknown) => ({ gpu: { requestAdapter: async () => a } })
    expect(await detectFeatures(adapter({}), canvas({}))).toEqual({ webgpu: true, webgl: true })
    expect(await detectFeatures(adapter(null), canvas(null))).toEqual({ webgpu: false, webgl: false })
    expect(await detectFeatures({}, () => null)).toEqual({ webgpu: false, webgl: false })
    const failing = { gpu: { requestAdapter: () => Promise.reject(new Error('no')) } }
    expect((await detectFeatures(failing, canvas({}))).webgpu).toBe(false)
  })
})

function streamResponse(chunks: number[][], status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks.shift()
      if (next) c.enqueue(Uint8Array.from(next))
      else c.close()
    },
  })
  return new Response(body, { status })
}

class FakeCache implements CacheLike {
  store = new Map<string, Uint8Array>()
  async match(key: string) {
    const hit = this.store.get(new URL(key, 'http://host/page/').href)
    return hit ? new Response(hit.slice()) : undefined
  }
  async put(key: string, response: Response) {
    this.store.set(new URL(key, 'http://host/page/').href, new Uint8Array(await response.arrayBuffer()))
  }
  async keys() {
    return [...this.store.keys()].map((url) => ({ url }))
  }
  async delete(key: string | { url: string }) {
    return this.store.delete(typeof key === 'string' ? key : key.url)
  }
}

describe('downloadModel', () => {
  const digest = async () => WEB.sha256

  it('streams the model with progress against web.bytes, then serves it from the cache', async () => {
    const cache = new FakeCache()
    const fetchFn = vi.fn(async () => streamResponse([[1, 2, 3, 4], [5, 6, 7, 8, 9, 10]]))
    const progress: (number | null)[] = []
    const bytes = await downloadModel(WEB, { fetch: fetchFn, cache, digest, base: 'http://host/page/', onProgress: (f) => progress.push(f) })
    expect(Array.from(bytes)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(progress).toEqual([0, 0.4, 1])
    expect(fetchFn).toHaveBeenCalledWith('/api/models/m1/generator.onnx', expect.anything())

    // the second visit: no download
    const again: (number | null)[] = []
    const second = await downloadModel(WEB, { fetch: fetchFn, cache, digest, onProgress: (f) => again.push(f) })
    expect(fetchFn).toHaveBeenCalledTimes(1)
    expect(Array.from(second)).toEqual(Array.from(bytes))
    expect(again).toEqual([1])
  })

  it('a new version of the model is downloaded anew and replaces the old one in the cache', async () => {
    const cache = new FakeCache()
    const fetchFn = vi.fn(async () => streamResponse([[1, 2]]))
    await downloadModel(WEB, { fetch: fetchFn, cache, digest: async () => null, base: 'http://host/page/' })
    const next = { ...WEB, sha256: 'cd'.repeat(32) }
    await downloadModel(next, { fetch: fetchFn, cache, digest: async () => null, base: 'http://host/page/' })
    expect(fetchFn).toHaveBeenCalledTimes(2)
    expect([...cache.store.keys()]).toEqual([new URL(cacheKey(next), 'http://host/page/').href])
  })

  it('refuses a damaged download and does not cache it', async () => {
    const cache = new FakeCache()
    const fetchFn = async () => streamResponse([[1, 2, 3]])
    await expect(downloadModel(WEB, { fetch: fetchFn, cache, digest: async () => 'ff'.repeat(32) })).rejects.toThrow(/damaged/)
    expect(cache.store.size).toBe(0)
  })

  it('reports HTTP errors and unreachable servers', async () => {
    await expect(downloadModel(WEB, { fetch: async () => streamResponse([], 404), digest })).rejects.toThrow(/error 404/)
    await expect(
      downloadModel(WEB, {
        fetch: async () => {
          throw new TypeError('offline')
        },
        digest,
      }),
    ).rejects.toThrow(/could not download the face model \(offline\)/)
  })

  it('without web.bytes, progress uses Content-Length', async () => {
    const progress: (number | null)[] = []
    const fetchFn = async () => {
      const r = streamResponse([[1], [2, 3, 4]])
      r.headers.set('Content-Length', '4')
      return r
    }
    await downloadModel({ ...WEB, bytes: 0 }, { fetch: fetchFn, digest, onProgress: (f) => progress.push(f) })
    expect(progress).toEqual([0, 0.25, 1])
  })
})

/** A fake runtime: each backend works or not; the "model" maps z to a 1×1 image per face, red = z[0]. */
function fakeRuntime(works: Partial<Record<Backend, boolean | 'run'>>, log: string[] = []): Runtime {
  return {
    async createSession(model, backend) {
      log.push(`create ${backend} (${model.length} bytes)`)
      if (works[backend] === false || works[backend] === undefined) throw new Error(`${backend} unavailable`)
      return {
        async run(z, n, dim) {
          if (works[backend] === 'run') throw new Error(`${backend} cannot run ConvTranspose`)
          log.push(`run ${backend} ${n}×${dim}`)
          const data = new Float32Array(n * 3)
          for (let i = 0; i < n; i++) data.set([z[i * dim], 0, -1], i * 3)
          return { data, dims: [n, 1, 1, 3] }
        },
        release() {
          log.push(`release ${backend}`)
        },
      }
    },
    async createClassifier() {
      throw new Error('no classifier here')
    },
  }
}

const fetchModel = async () => streamResponse([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])

describe('LocalEngine', () => {
  const base = { fetch: fetchModel, digest: async () => WEB.sha256, cache: null }

  it('takes the best backend that works, falling back when one fails to open or to run', async () => {
    const log: string[] = []
    const engine = await LocalEngine.load(INFO, {
      ...base,
      runtime: fakeRuntime({ webgpu: false, webgl: 'run', wasm: true }, log),
      features: { webgpu: true, webgl: true },
    })
    expect(engine.backend).toBe('wasm')
    expect(engine.name).toBe('local-wasm')
    expect(log.filter((l) => l.startsWith('create'))).toEqual(['create webgpu (10 bytes)', 'create webgl (10 bytes)', 'create wasm (10 bytes)'])
    expect(log).toContain('release webgl')
  })

  it('does not try what the browser lacks, and says why nothing worked', async () => {
    const log: string[] = []
    await expect(
      LocalEngine.load(INFO, { ...base, runtime: fakeRuntime({ webgpu: true }, log), features: { webgpu: false, webgl: false } }),
    ).rejects.toThrow(/no backend could run the face model \(wasm: wasm unavailable\)/)
    expect(log).toEqual(['create wasm (10 bytes)'])
  })

  it('tries only the backend asked for (?engine=), even one the browser seems to lack, with no fallback', async () => {
    const log: string[] = []
    const engine = await LocalEngine.load(INFO, {
      ...base,
      runtime: fakeRuntime({ webgl: true, wasm: true }, log),
      features: { webgpu: false, webgl: false },
      only: 'webgl',
    })
    expect(engine.backend).toBe('webgl')
    await expect(
      LocalEngine.load(INFO, { ...base, runtime: fakeRuntime({ wasm: true }, []), features: { webgpu: true, webgl: true }, only: 'webgpu' }),
    ).rejects.toThrow(/no backend could run the face model \(webgpu: /)
  })

  it('generates a batch in one run, turns it into pixels, and measures ms per face', async () => {
    let t = 0
    const timings: number[] = []
    const log: string[] = []
    const engine = await LocalEngine.load(INFO, {
      ...base,
      runtime: fakeRuntime({ webgpu: true }, log),
      features: Promise.resolve({ webgpu: true, webgl: false }),
      now: () => (t += 10),
      onTiming: (ms) => timings.push(ms),
    })
    expect(engine.backend).toBe('webgpu')
    expect(engine.msPerFace).toBe(10) // the timed warm-up
    const images = await engine.generate([
      [1, 0, 0],
      [-1, 0, 0],
      [0, 0, 0],
      [0.5, 0, 0],
    ])
    expect(log.at(-1)).toBe('run webgpu 4×3')
    expect(images.map((i) => i.data[0])).toEqual([255, 0, 128, 191])
    expect(Array.from(images[0].data)).toEqual([255, 128, 0, 255])
    expect(engine.msPerFace).toBe(2.5)
    expect(timings.at(-1)).toBe(2.5)
  })

  it('refuses a z of the wrong length, and runs one batch at a time', async () => {
    const engine = await LocalEngine.load(INFO, { ...base, runtime: fakeRuntime({ wasm: true }), features: { webgpu: false, webgl: false } })
    await expect(engine.generate([[1, 2]])).rejects.toThrow(/2 numbers; this model takes 3/)
    let running = 0
    let most = 0
    const session = {
      async run(_z: Float32Array, n: number) {
        most = Math.max(most, ++running)
        await new Promise((r) => setTimeout(r, 5))
        running--
        return { data: new Float32Array(n * 3), dims: [n, 1, 1, 3] }
      },
      release() {},
    }
    const serial = new LocalEngine('wasm', session, WEB, 3)
    await Promise.all([serial.generate([[0, 0, 0]]), serial.generate([[0, 0, 0]]), serial.generate([[0, 0, 0]])])
    expect(most).toBe(1)
  })

  it('needs a model with a web generator', async () => {
    await expect(
      LocalEngine.load({ ...INFO, web: undefined }, { ...base, runtime: fakeRuntime({ wasm: true }), features: { webgpu: false, webgl: false } }),
    ).rejects.toThrow(/no generator for the browser/)
  })
})

describe('engine label', () => {
  it('says who makes the faces in each state', () => {
    expect(engineLabel({ state: 'off' })).toBe('Server')
    expect(engineLabel({ state: 'loading', fraction: 0.437 })).toBe('Loading the face model: 43%')
    expect(engineLabel({ state: 'loading', fraction: null })).toBe('Loading the face model…')
    expect(engineLabel({ state: 'ready', backend: 'wasm', msPerFace: 9.04 })).toBe('Local · wasm · 9.0 ms/face')
    expect(engineLabel({ state: 'ready', backend: 'webgpu', msPerFace: 23.4 })).toBe('Local · webgpu · 23 ms/face')
    expect(engineLabel({ state: 'failed', error: 'boom' })).toBe('Server (the local model failed: boom)')
    expect(engineLabel({ state: 'failed', error: 'boom' }, true)).toBe('The face model failed: boom')
  })

  it('names the engine for data-engine: local only when ready', () => {
    expect(engineName({ state: 'ready', backend: 'webgl', msPerFace: null })).toBe('local-webgl')
    expect(engineName({ state: 'loading', fraction: 0.5 })).toBe('server')
    expect(engineName({ state: 'failed', error: 'x' })).toBe('server')
    expect(engineName({ state: 'off' })).toBe('server')
  })
})

describe('engineChoice', () => {
  it('reads ?engine=webgpu|webgl|wasm|server, and nothing else', () => {
    expect(engineChoice('?engine=wasm')).toBe('wasm')
    expect(engineChoice('?a=1&engine=webgl')).toBe('webgl')
    expect(engineChoice('?engine=webgpu')).toBe('webgpu')
    expect(engineChoice('?engine=server')).toBe('server')
    expect(engineChoice('')).toBeNull()
    expect(engineChoice('?engine=cuda')).toBeNull()
    expect(engineChoice('?engine=')).toBeNull()
  })
})
