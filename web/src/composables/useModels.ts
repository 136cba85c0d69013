/**
 * The models on offer (GET /api/models) and the name of the one on show. Without a
 * face server the page is a static site: models.json next to index.html gives the
 * models, only those whose generator runs in the browser (`web`) are kept, and
 * `serverless` is set.
 */
import { computed, ref } from 'vue'
import type { ModelInfo, ZContract } from '../types'
import { api, errorMessage } from '../api'
import type { Messages } from './useMessages'

export function useModels(messages: Pick<Messages, 'showError' | 'clearError'>) {
  const models = ref<ModelInfo[]>([])
  const defaultModel = ref('')
  /** The model on show ('' before the first one). */
  const name = ref('')
  const loading = ref(true)
  /** A static site: no face server, models.json and the generator in the browser only. */
  const serverless = ref(false)
  const online = computed(() => !serverless.value)
  const model = computed(() => find(name.value) ?? null)
  const contracts = computed<Record<string, ZContract>>(() => Object.fromEntries(models.value.map((m) => [m.name, m.z])))

  function find(modelName: string): ModelInfo | undefined {
    return models.value.find((m) => m.name === modelName)
  }

  /** Asks for the models; true when there is one to show (else the banner says why). */
  async function load(): Promise<boolean> {
    loading.value = true
    try {
      const res = await api.models().catch(async (error: unknown) => {
        // no server: a static site has models.json next to index.html
        const found = await api.staticModels().catch(() => null)
        if (!found) throw error
        serverless.value = true
        return { ...found, models: found.models.filter((m) => m.web) }
      })
      models.value = res.models
      defaultModel.value = res.models.some((m) => m.name === res.default) ? res.default : (res.models[0]?.name ?? '')
      messages.clearError('models')
    } catch (error) {
      messages.showError(`Could not load the models: ${errorMessage(error)}`, 'models')
      return false
    } finally {
      loading.value = false
    }
    if (!models.value.length) {
      const why = serverless.value ? 'This page has no face model that runs in the browser.' : 'The server has no model loaded.'
      messages.showError(why, 'models')
      return false
    }
    return true
  }

  return { models, defaultModel, name, loading, serverless, online, model, contracts, find, load }
}
