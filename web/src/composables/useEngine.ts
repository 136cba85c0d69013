/**
 * The generator in the browser for the model on show: loaded in the background when
 * the model offers one (`web`), one engine per model, with a state for the label
 * ("Loading the face model: 43%", "Local · wasm · 9 ms/face", or the server).
 */
import { computed, reactive, watch, type Ref } from 'vue'
import type { FaceService } from '../api'
import { LocalEngine, engineLabel, engineName, type EngineState } from '../engine'
import { localFaces } from '../localfaces'
import { browserFeatures, canvasEncoder, modelCache, ortRuntime } from '../ort'
import type { ModelInfo } from '../types'

export type LocalFaceService = FaceService & { model: string }

export function useEngine(model: Readonly<Ref<ModelInfo | null>>, serverless: Readonly<Ref<boolean>>) {
  const states = reactive<Record<string, EngineState>>({})
  const services = reactive<Record<string, LocalFaceService>>({}) as Record<string, LocalFaceService>
  const loads = new Map<string, Promise<LocalFaceService>>()
  const runtime = ortRuntime()

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
      if (info?.web) void load(info).catch(() => undefined)
    },
    { immediate: true },
  )

  const state = computed<EngineState>(() => (model.value ? (states[model.value.name] ?? { state: 'off' }) : { state: 'off' }))
  const name = computed(() => engineName(state.value))
  const label = computed(() => engineLabel(state.value, serverless.value))

  return { state, name, label, load, facesFor }
}
