/**
 * The named controls of the model on show (GET /api/directions), fetched when the
 * model changes. A model without them answers 404: then `missing` holds a one-line
 * note and the panels that need them stay hidden. On a static site (no server) they
 * come from the model's controls.json, with each direction's vector (`linear` is
 * set: the page moves z itself, web/src/linear.ts).
 */
import { ref, watch, type Ref } from 'vue'
import { ApiError, api, errorMessage, type DirectionsResponse, type StaticControls } from '../api'
import { useLatestRequest } from './useLatestRequest'
import type { Messages } from './useMessages'

export function useDirections(
  modelName: Ref<string>,
  messages: Pick<Messages, 'showError' | 'clearError'>,
  /** False on a static site (no server): the model's controls.json is read instead, if it has one. */
  online: Readonly<Ref<boolean>> = ref(true),
  /** Where a static site keeps a model's controls.json (models.json's `controls`). */
  staticUrl: (name: string) => string | null | undefined = () => null,
) {
  const controls = ref<DirectionsResponse | (StaticControls & { model: string }) | null>(null)
  /** The directions carry their vectors and no server edits: sliders move z in the page. */
  const linear = ref(false)
  const missing = ref('')
  const { run } = useLatestRequest()

  async function load(name: string): Promise<void> {
    controls.value = null
    linear.value = false
    missing.value = ''
    if (!name) return
    const url = online.value ? null : staticUrl(name)
    if (!online.value && !url) {
      missing.value = 'Without the face server, sliders, “Make me a face” and breeding are off.'
      return
    }
    try {
      const res = await run<DirectionsResponse | StaticControls>((signal) =>
        url ? api.staticControls(url, signal) : api.directions(name, signal),
      )
      if (!res) return
      controls.value = { ...res, model: name }
      linear.value = !!url
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
  return { controls, linear, missing }
}
