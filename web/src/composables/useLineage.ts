/**
 * Breeding and lineage bookkeeping, with the gallery of saved faces: the lineage of
 * each bred face (kept by face, saved with it, shared in its link), the face id and
 * lineage line under the face, the faces to breed from (the history, then the
 * gallery's) and what loading a saved face does.
 */
import { computed, reactive, type Ref } from 'vue'
import type { Face } from '../types'
import { type Lineage, LineageBook, describeLineage, faceId } from '../breeding'
import { type Editor, zKey } from '../editor'
import { Gallery, type GalleryEntry, type GalleryStore, browserStore } from '../gallery'
import type { RecentList } from '../history'
import type { Messages } from './useMessages'

/** What the page does with a face to show. */
export interface FacePlacing {
  /** Whether the page has model `name`. */
  hasModel(name: string): boolean
  /** Puts another model on show (its contract, no undo history). */
  switchModel(name: string): void
  /** Shows a face whose image is known, with its z in the editor. */
  loadFace(face: Face): void
}

export function useLineage(
  modelName: Ref<string>,
  editor: Editor,
  /** The history strip's faces (useFaceOnShow's `recent`). */
  recent: RecentList<Face>,
  messages: Pick<Messages, 'showError' | 'clearError' | 'succeeded' | 'notify'>,
  page: FacePlacing,
  /** null: no storage here (the gallery lasts until the page is closed). */
  store: GalleryStore | null = browserStore(),
) {
  const lineages = reactive(new LineageBook()) as LineageBook
  const gallery = reactive(new Gallery(store)) as Gallery
  const problem = gallery.load()
  if (problem) messages.showError(problem, 'gallery')

  /** The lineage of the face in the editor, when it was bred. */
  const currentLineage = computed(() => (modelName.value ? lineages.get({ model: modelName.value, z: editor.z }) : undefined))
  const currentId = computed(() => (modelName.value && editor.z.length ? faceId(modelName.value, editor.z) : ''))
  const lineageText = computed(() => (currentLineage.value ? describeLineage(currentLineage.value, nameOf) : ''))
  /** Faces to breed from: the history, then the gallery's. */
  const breedCandidates = computed<Face[]>(() => [
    ...recent.items,
    ...gallery.entries.flatMap((e) => (e.image ? [{ model: e.model, z: e.z, src: e.image }] : [])),
  ])

  /** A face's name in the gallery, by face id. */
  function nameOf(id: string): string | undefined {
    return gallery.nameOf(id)
  }

  function lineageOf(face: Face): Lineage | undefined {
    const key = zKey(face.model, face.z)
    return lineages.get(face) ?? gallery.entries.find((e) => zKey(e.model, e.z) === key)?.lineage
  }

  /** A face just bred: its lineage is kept, and it goes into the editor. */
  function bred(face: Face, lineage: Lineage): void {
    lineages.set(face, lineage)
    page.loadFace(face)
  }

  /** Loads a saved face (with its lineage) into the editor. */
  function openSaved(entry: GalleryEntry): void {
    if (!page.hasModel(entry.model)) {
      messages.showError(`“${entry.name}” is a face of model ${entry.model}, which this server does not have.`, 'gallery')
      return
    }
    if (entry.lineage) lineages.set(entry, entry.lineage)
    if (entry.image) return page.loadFace({ model: entry.model, z: entry.z, src: entry.image })
    if (entry.model !== modelName.value) page.switchModel(entry.model)
    editor.setZ(entry.z)
    messages.succeeded()
    messages.notify('Loaded into the editor')
  }

  /** The gallery saved, deleted, exported or imported: `message` says what. */
  function galleryDone(message: string): void {
    messages.clearError('gallery')
    messages.succeeded()
    messages.notify(message)
  }

  return { lineages, gallery, currentLineage, currentId, lineageText, breedCandidates, nameOf, lineageOf, bred, openSaved, galleryDone }
}
