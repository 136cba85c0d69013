/**
 * The generator in the browser for the model on show: loaded in the background when
 * the model offers one (`web`), one engine per model, with a state for the label
 * ("Loading the face model: 43%", "Local · wasm · 9 ms/face", or the server).
 *
 * `?engine=webgpu|webgl|wasm|server` in the page's address forces one backend, or the server (see
 * `engineChoice`); with it, and only then, the page sets `window.__dcganEngine` for measurements
 * (benchmarks/browser.py): `faces()` is the FaceService the page uses for the model on show (the browser's
 * once ready, else the server's), `state()` the engine's state.
 */
import { computed, reactive, watch, type Ref } from 'vue'
import { api, type FaceService } from '../api'
import { canvasEncoder } from '../canvas'
import { LocalEngine, engineChoice, engineLabel, engineName, type EngineState } from '../engine'
import { type LocalFaceService, localFaces } from '../localfaces'
import { browserFeatures, modelCache, ortRuntime } from '../ort'
import type { ModelInfo } from '../types'

export function useEngine(model: Readonly<Ref<ModelInfo | null>>, serverless: Readonly<Ref<boolean>>) {
  const states = reactive<Record<string, EngineState>>({})
  const services = reactive<Record<string, LocalFaceService>>({}) as Record<string, LocalFaceService>
  const loads = new Map<string, Promise<LocalFaceService>>()
  const runtime = ortRuntime()
  const choice = engineChoice(globalThis.location?.search ?? '')

  /** The model's local faces, once its engine is loaded (started on first call). */
  function load(info: ModelInfo): Promise<LocalFaceService> {
    const known = loads.get(info.name)
    if (known) return known
    if (!info.web) return Promise.reject(new Error(`model ${info.name} has no generator for the browser`))
    const name = info.name
    states[name] = { state: 'loading', fraction: null }
    const loading = (async () => {
      const engine = await LocalEngine.load(info, {
        runtime,
        features: browserFeatures(),
        cache: await modelCache(),
        only: choice === 'server' || choice === null ? undefined : choice,
        onProgress: (fraction) => {
          if (states[name]?.state === 'loading') states[name] = { state: 'loading', fraction }
        },
        onTiming: (msPerFace) => {
          const s = states[name]
          if (s?.state === 'ready') s.msPerFace = msPerFace
        },
      })
      const service = localFaces(engine, info, canvasEncoder)
      states[name] = { state: 'ready', backend: engine.backend, msPerFace: engine.msPerFace }
      services[name] = service
      return service
    })()
    loading.catch((error: unknown) => {
      states[name] = { state: 'failed', error: error instanceof Error ? error.message : String(error) }
    })
    loads.set(name, loading)
    return loading
  }

  /** The local faces of model `name` if its engine is ready, else null (ask the server). */
  function facesFor(name: string): LocalFaceService | null {
    return services[name] ?? null
  }

  watch(
    model,
    (info) => {
      // ?engine=server: the server makes the faces (a static site has none, so it loads anyway)
      if (info?.web && (choice !== 'server' || serverless.value)) void load(info).catch(() => undefined)
    },
    { immediate: true },
  )

  const state = computed<EngineState>(() => (model.value ? (states[model.value.name] ?? { state: 'off' }) : { state: 'off' }))
  const name = computed(() => engineName(state.value))
  const label = computed(() => engineLabel(state.value, serverless.value))

  if (choice !== null && typeof window !== 'undefined') {
    ;(window as unknown as { __dcganEngine: unknown }).__dcganEngine = {
      choice,
      state: () => state.value,
      faces: (): FaceService => (model.value ? facesFor(model.value.name) : null) ?? api,
    }
  }

  return { state, name, label, load, facesFor }
}
