/**
 * The named controls of the model on show (GET /api/directions), fetched when the
 * model changes. A model without them answers 404: then `missing` holds a one-line
 * note and the panels that need them stay hidden.
 */
import { ref, watch, type Ref } from 'vue'
import { ApiError, api, errorMessage, type DirectionsResponse } from '../api'
import { useLatestRequest } from './useLatestRequest'
import type { Messages } from './useMessages'

export function useDirections(
  modelName: Ref<string>,
  messages: Pick<Messages, 'showError' | 'clearError'>,
  /** False on a static site (no server): nothing is asked, and `missing` says why. */
  online: Readonly<Ref<boolean>> = ref(true),
) {
  const controls = ref<DirectionsResponse | null>(null)
  const missing = ref('')
  const { run } = useLatestRequest()

  async function load(name: string): Promise<void> {
    controls.value = null
    missing.value = ''
    if (!name) return
    if (!online.value) {
      missing.value = 'Without the face server, sliders, “Make me a face” and breeding are off.'
      return
    }
    try {
      const res = await run((signal) => api.directions(name, signal))
      if (!res) return
      controls.value = res
      messages.clearError('directions')
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        missing.value = `Model ${name} has no named controls, so sliders, “Make me a face” and breeding are off.`
      } else {
        missing.value = 'The named controls could not be loaded.'
        messages.showError(`Named controls: ${errorMessage(error)}`, 'directions')
      }
    }
  }

  watch([modelName, online], ([name]) => void load(name), { immediate: true })
  return { controls, missing }
}
