/**
 * The browser's side of the local engine: onnxruntime-web (imported lazily, so the
 * page's first paint does not wait for it), its .wasm served from the page's own
 * origin (no CDN), and feature detection. Tests replace this module with a fake
 * (vi.mock('./ort')).
 */
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url'
import type { Backend, CacheLike, ClassifierSession, Features, OutputTensor, Runtime, Session } from './engine'
import { detectFeatures } from './engine'
import type { WebModel } from './types'

type Ort = typeof import('onnxruntime-web/all')
let ort: Promise<Ort> | null = null

/** onnxruntime-web with WebGPU, WebGL and WASM, loaded on first use. */
function loadOrt(): Promise<Ort> {
  ort ??= import('onnxruntime-web/all').then((m) => {
    m.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, location.href).href }
    // threads need a cross-origin-isolated page (SharedArrayBuffer); the model is small anyway
    if (!globalThis.crossOriginIsolated) m.env.wasm.numThreads = 1
    return m
  })
  return ort
}

export function ortRuntime(): Runtime {
  return {
    async createSession(model: Uint8Array, backend: Backend, web: WebModel): Promise<Session> {
      const { InferenceSession, Tensor } = await loadOrt()
      const session = await InferenceSession.create(model, { executionProviders: [backend] })
      return {
        async run(z: Float32Array, n: number, dim: number): Promise<OutputTensor> {
          const input = new Tensor('float32', z, [n, dim])
          try {
            const outputs = await session.run({ [web.input]: input })
            const output = outputs[web.output]
            if (!output) throw new Error(`the model has no output "${web.output}"`)
            const data = (await output.getData()) as Float32Array
            const dims = output.dims.slice()
            output.dispose()
            return { data, dims }
          } finally {
            input.dispose()
          }
        },
        release: () => session.release(),
      }
    },

    async createClassifier(model: Uint8Array): Promise<ClassifierSession> {
      const { InferenceSession, Tensor } = await loadOrt()
      const session = await InferenceSession.create(model, { executionProviders: ['wasm'] })
      return {
        async run(images: Float32Array, n: number) {
          const input = new Tensor('float32', images, [n, 64, 64, 3])
          try {
            const out = await session.run({ image: input })
            const [attributes, age] = await Promise.all([out.attributes.getData(), out.age.getData()])
            out.attributes.dispose()
            out.age.dispose()
            return { attributes: attributes as Float32Array, age: age as Float32Array }
          } finally {
            input.dispose()
          }
        },
      }
    },
  }
}

export function browserFeatures(): Promise<Features> {
  return detectFeatures(
    globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined,
    () => (typeof document === 'undefined' ? null : document.createElement('canvas')),
  )
}

/** The Cache API store of downloaded models (null where there is none, e.g. plain http off localhost). */
export async function modelCache(): Promise<CacheLike | null> {
  try {
    return globalThis.caches ? ((await caches.open('dcgan-face-models')) as unknown as CacheLike) : null
  } catch {
    return null
  }
}
