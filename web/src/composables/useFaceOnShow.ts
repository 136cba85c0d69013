/**
 * The face on show for the z in the editor: a face already seen comes from the
 * history at once, any other is asked for live (LiveFace) as z changes; faces
 * on show enter the history strip, except mid-stroke.
 */
import { computed, onScopeDispose, reactive, ref, shallowRef, toRaw, watch, type Ref } from 'vue'
import type { Face } from '../types'
import { api, errorMessage } from '../api'
import { blobToDataUrl } from '../blob'
import { type Editor, zKey } from '../editor'
import { RecentList } from '../history'
import { LiveFace, type LiveGenerate } from '../live'
import type { Messages } from './useMessages'

export const HISTORY_SIZE = 20
export const LIVE_DELAY_MS = 80

export function useFaceOnShow(
  modelName: Ref<string>,
  editor: Editor,
  currentKey: Readonly<Ref<string | null>>,
  messages: Pick<Messages, 'showError' | 'clearError'>,
  /** How a face is made (default: POST /api/generate; the page passes the local engine when it has one). */
  generate: LiveGenerate<number[], Blob> = (z, signal) => api.generatePng(z, { model: modelName.value, signal }),
  /** ms to gather paint changes before making a face (the page: 0 once the browser makes the faces). */
  delay: () => number = () => LIVE_DELAY_MS,
) {
  const src = ref<string | null>(null)
  const key = ref<string | null>(null)
  const roundTrip = ref<number | null>(null)
  const busy = ref(false)
  const lastFace = shallowRef<Face | null>(null) // the face on show, with a durable (data URL) image
  const recent = reactive(new RecentList<Face>((f) => zKey(f.model, f.z), HISTORY_SIZE)) as RecentList<Face>
  let ownedUrl: string | null = null

  /** The face of the z in the editor, once its image is in. */
  const currentFace = computed<Face | null>(() => {
    const f = lastFace.value
    return f && zKey(f.model, f.z) === currentKey.value ? f : null
  })

  function display(url: string, faceKey: string, owned: boolean): void {
    if (ownedUrl && ownedUrl !== url) URL.revokeObjectURL(ownedUrl)
    ownedUrl = owned ? url : null
    src.value = url
    key.value = faceKey
  }

  /** Puts the face on show into the history strip (not mid-stroke). */
  function remember(): void {
    const face = currentFace.value
    if (face && !editor.painting) recent.add(face)
  }

  /** Shows a face whose image is known already (history, random, morph, arithmetic). */
  function showKnown(face: Face): void {
    live.cancel()
    display(face.src, zKey(face.model, face.z), false)
    lastFace.value = face
    remember()
  }

  const live = new LiveFace(
    generate,
    {
      onFace(z, { result: blob, ms }) {
        const name = modelName.value
        const faceKey = zKey(name, z)
        display(URL.createObjectURL(blob), faceKey, true)
        roundTrip.value = ms
        messages.clearError('live')
        blobToDataUrl(blob)
          .then((dataUrl) => {
            if (key.value !== faceKey) return
            lastFace.value = { model: name, z, src: dataUrl }
            remember()
          })
          .catch(() => undefined)
      },
      onError(error) {
        messages.showError(errorMessage(error), 'live')
      },
      onBusy(b) {
        busy.value = b
      },
    },
    delay,
  )

  watch([modelName, () => editor.z], () => {
    if (!modelName.value || !editor.z.length) return
    const wanted = currentKey.value as string
    if (wanted === key.value) {
      live.cancel()
      remember()
      return
    }
    const known = recent.find(wanted)
    if (known) showKnown(known)
    else live.schedule(toRaw(editor.z).slice())
  })

  onScopeDispose(() => {
    live.cancel()
    if (ownedUrl) URL.revokeObjectURL(ownedUrl)
  })

  return { src, key, roundTrip, busy, recent, currentFace, showKnown, remember, cancel: () => live.cancel() }
}
