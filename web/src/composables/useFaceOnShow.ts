/**
 * The face on show for the z in the editor: a face already seen comes from the
 * history at once, any other is asked for live (LiveFace) as z changes, and is drawn
 * on the face's canvas (`screen`) as soon as it comes; its durable image (a data URL)
 * is made after that frame, and faces on show enter the history strip, except mid-stroke.
 */
import { computed, markRaw, onScopeDispose, reactive, ref, shallowRef, toRaw, watch, type Ref } from 'vue'
import type { Face } from '../types'
import { api, errorMessage } from '../api'
import { canvasEncoder, domPainter } from '../canvas'
import { type Editor, zKey } from '../editor'
import { FaceScreen, type Painter, type Picture, afterPaint, pictureUrl } from '../facescreen'
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
  /** How a face is made (default: POST /api/generate; the page passes the local engine's pixels when it has one). */
  generate: LiveGenerate<number[], Picture> = (z, signal) => api.generatePng(z, { model: modelName.value, signal }),
  /** ms to gather paint changes before making a face (the page: 0 once the browser makes the faces). */
  delay: () => number = () => LIVE_DELAY_MS,
  painter: Painter = domPainter,
) {
  const screen = markRaw(new FaceScreen(painter))
  const key = ref<string | null>(null) // the face on show's (model, z) key
  const roundTrip = ref<number | null>(null)
  const busy = ref(false)
  const lastFace = shallowRef<Face | null>(null) // the face on show, with a durable (data URL) image
  const recent = reactive(new RecentList<Face>((f) => zKey(f.model, f.z), HISTORY_SIZE)) as RecentList<Face>

  /** The face of the z in the editor, once its image is in. */
  const currentFace = computed<Face | null>(() => {
    const f = lastFace.value
    return f && zKey(f.model, f.z) === currentKey.value ? f : null
  })

  function display(picture: Picture, faceKey: string): void {
    void screen.show(picture)
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
    display(face.src, zKey(face.model, face.z))
    lastFace.value = face
    remember()
  }

  const live = new LiveFace(
    generate,
    {
      onFace(z, { result, ms }) {
        const name = modelName.value
        const faceKey = zKey(name, z)
        display(result, faceKey)
        roundTrip.value = ms
        messages.clearError('live')
        afterPaint(() => {
          if (key.value !== faceKey) return // a newer face came first
          pictureUrl(result, (image) => canvasEncoder.dataUrl(image))
            .then((src) => {
              if (key.value !== faceKey) return
              lastFace.value = { model: name, z, src }
              remember()
            })
            .catch(() => undefined)
        })
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

  onScopeDispose(() => live.cancel())

  return { screen, key, roundTrip, busy, recent, currentFace, showKnown, remember, cancel: () => live.cancel() }
}
