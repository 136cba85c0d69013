import { describe, expect, it, vi } from 'vitest'
import { reactive, ref } from 'vue'
import type { Face } from '../types'
import { childLineage, crossLineage, faceId } from '../breeding'
import { Editor, zKey } from '../editor'
import { GALLERY_KEY, type GalleryStore } from '../gallery'
import { RecentList } from '../history'
import { useLineage } from './useLineage'

const CONTRACT = { dim: 2, prior: 'uniform', low: -1, high: 1 }
const face = (v: number, model = 'm'): Face => ({ model, z: [v, v], src: `data:image/png;base64,F${v}` })

function memoryStore(initial: Record<string, string> = {}): GalleryStore {
  const data = new Map(Object.entries(initial))
  return { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) }
}

function setup(store: GalleryStore | null = memoryStore()) {
  const modelName = ref('m')
  const editor = reactive(new Editor(CONTRACT)) as Editor
  const recent = reactive(new RecentList<Face>((f) => zKey(f.model, f.z))) as RecentList<Face>
  const messages = { showError: vi.fn(), clearError: vi.fn(), succeeded: vi.fn(), notify: vi.fn() }
  const page = {
    hasModel: (name: string) => name === 'm' || name === 'other',
    switchModel: vi.fn((name: string) => void (modelName.value = name)),
    loadFace: vi.fn((f: Face) => void editor.setZ(f.z)),
  }
  const lineage = useLineage(modelName, editor, recent, messages, page, store)
  return { modelName, editor, recent, messages, page, lineage }
}

describe('useLineage', () => {
  it('keeps the lineage of a bred face and says it under the face, with gallery names', () => {
    const { editor, page, lineage } = setup()
    expect(lineage.currentId.value).toBe(faceId('m', [0, 0]))
    expect(lineage.currentLineage.value).toBeUndefined()
    expect(lineage.lineageText.value).toBe('')
    const parent = face(0.5)
    lineage.gallery.add(parent, 'Ann')
    const child = face(0.25)
    lineage.bred(child, childLineage({ id: faceId('m', parent.z) }, 0.3, true))
    expect(page.loadFace).toHaveBeenCalledWith(child)
    expect(editor.z).toEqual([0.25, 0.25])
    expect(lineage.currentId.value).toBe(faceId('m', [0.25, 0.25]))
    expect(lineage.lineageText.value).toBe('child of “Ann” (lock, 0.3)')
    expect(lineage.lineageOf(child)).toEqual(lineage.currentLineage.value)
    editor.undo()
    expect(lineage.currentLineage.value).toBeUndefined()
  })

  it('breeds from the history first, then the saved faces with an image; finds saved lineages', () => {
    const { recent, lineage } = setup()
    recent.add(face(0.1))
    const cross = crossLineage([{ id: 'a' }, { id: 'b' }])
    lineage.gallery.add(face(0.2), 'Bo', cross)
    expect(lineage.breedCandidates.value).toEqual([face(0.1), face(0.2)])
    expect(lineage.lineageOf(face(0.2))).toEqual(cross)
    expect(lineage.lineageOf(face(0.1))).toBeUndefined()
    expect(lineage.nameOf(faceId('m', [0.2, 0.2]))).toBe('Bo')
  })

  it('loads a saved face: with its image and lineage, without an image, or says its model is missing', () => {
    const { modelName, editor, messages, page, lineage } = setup()
    const cross = crossLineage([{ id: 'a' }, { id: 'b' }])
    const saved = lineage.gallery.add(face(0.5), 'Ann', cross)
    lineage.openSaved(saved)
    expect(page.loadFace).toHaveBeenCalledWith(face(0.5))
    expect(lineage.currentLineage.value).toEqual(cross)

    lineage.openSaved({ ...saved, model: 'other', z: [1, -1], image: undefined, lineage: undefined })
    expect(page.switchModel).toHaveBeenCalledWith('other')
    expect(modelName.value).toBe('other')
    expect(editor.z).toEqual([1, -1])
    expect(messages.succeeded).toHaveBeenCalled()
    expect(messages.notify).toHaveBeenCalledWith('Loaded into the editor')

    lineage.openSaved({ ...saved, model: 'gone' })
    expect(messages.showError).toHaveBeenCalledWith('“Ann” is a face of model gone, which this server does not have.', 'gallery')
    expect(page.loadFace).toHaveBeenCalledTimes(1)
  })

  it('reports what the gallery did, and a gallery it could not read', () => {
    const { messages, lineage } = setup()
    lineage.galleryDone('Saved “Ann” in the gallery')
    expect(messages.clearError).toHaveBeenCalledWith('gallery')
    expect(messages.succeeded).toHaveBeenCalled()
    expect(messages.notify).toHaveBeenCalledWith('Saved “Ann” in the gallery')
    expect(setup(memoryStore({ [GALLERY_KEY]: '{oops' })).messages.showError).toHaveBeenCalledWith(
      expect.stringMatching(/^The saved gallery could not be read/),
      'gallery',
    )
    expect(setup(null).messages.showError).toHaveBeenCalledWith(expect.stringMatching(/^This browser keeps no saved faces/), 'gallery')
  })
})
