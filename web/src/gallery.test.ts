import { describe, expect, it } from 'vitest'
import { crossLineage, faceId } from './breeding'
import { GALLERY_ASIDE_KEY, GALLERY_KEY, Gallery, GalleryError, type GalleryStore } from './gallery'
import type { Face, ZContract } from './types'

const CONTRACTS: Record<string, ZContract> = { m1: { dim: 3, prior: 'uniform', low: -1, high: 1 } }
const face = (v: number): Face => ({ model: 'm1', z: [v, v, v], src: `data:image/png;base64,F${v}` })

function memoryStore(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial))
  const store: GalleryStore = {
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
  }
  return { store, data }
}

describe('Gallery', () => {
  it('saves faces with name and lineage, and they survive a reload', () => {
    const { store } = memoryStore()
    const g = new Gallery(store)
    expect(g.load()).toBe('')
    const lineage = crossLineage([{ id: 'a' }, { id: 'b' }])
    const e = g.add(face(0.5), '  Ann  ', lineage)
    expect(e).toMatchObject({ id: faceId('m1', [0.5, 0.5, 0.5]), name: 'Ann', image: 'data:image/png;base64,F0.5', lineage })
    g.add(face(0.25), '')
    expect(() => g.add(face(0.5), 'again')).toThrow(/in the gallery already, as “Ann”/)
    const again = new Gallery(store)
    expect(again.load()).toBe('')
    expect(again.entries.map((x) => x.name)).toEqual(['unnamed', 'Ann'])
    expect(again.entries[1]).toEqual(e)
    expect(again.nameOf(e.id)).toBe('Ann')
    again.remove(e.id)
    const third = new Gallery(store)
    third.load()
    expect(third.entries).toHaveLength(1)
  })

  it('unreadable storage is kept aside, and the gallery starts empty', () => {
    for (const text of ['{oops', '{"version": 9, "faces": []}', '{"version": 1, "faces": [{"model": "m1", "z": "x"}]}']) {
      const { store, data } = memoryStore({ [GALLERY_KEY]: text })
      const g = new Gallery(store)
      expect(g.load()).toMatch(/could not be read \(.+\); it was kept aside and the gallery starts empty/)
      expect(g.entries).toEqual([])
      expect(data.get(GALLERY_ASIDE_KEY)).toBe(text)
      g.add(face(0), 'new')
      expect(data.get(GALLERY_ASIDE_KEY)).toBe(text) // still there
    }
  })

  it('without storage it works for the session, and says so', () => {
    const g = new Gallery(null)
    expect(g.load()).toMatch(/lasts until the page is closed/)
    g.add(face(0), 'x')
    expect(g.entries).toHaveLength(1)
  })

  it('a full storage keeps the gallery as it was', () => {
    const g = new Gallery({
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError')
      },
    })
    g.load()
    expect(() => g.add(face(0), 'x')).toThrow(/could not be saved \(QuotaExceededError\)/)
    expect(g.entries).toEqual([])
  })

  it('exports the whole gallery and imports it elsewhere, skipping faces it has', () => {
    const a = new Gallery(memoryStore().store)
    a.add(face(0.5), 'Ann', crossLineage([{ id: 'a' }, { id: 'b' }]))
    a.add(face(-0.5), 'Bob')
    const file = a.exportJson()
    expect(JSON.parse(file)).toMatchObject({ format: 'dcgan-face-gallery', version: 1 })
    const b = new Gallery(memoryStore().store)
    b.add(face(-0.5), 'Bob here')
    expect(b.importJson(file, CONTRACTS)).toBe(1)
    expect(b.entries.map((e) => e.name)).toEqual(['Bob here', 'Ann'])
    expect(b.entries[1]).toEqual(a.entries[1])
    expect(b.importJson(file, CONTRACTS)).toBe(0)
  })

  it('a bad file gives a clear error and changes nothing', () => {
    const g = new Gallery(memoryStore().store)
    g.add(face(0), 'keep')
    const file = (faces: unknown[], version = 1) => JSON.stringify({ version, faces })
    const bad: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[1, 2]', /not a gallery/],
      [file([], 2), /version 2 is not 1/],
      [file([{ model: 'm1', z: [0, 0] }]), /face 1: z holds 2 numbers, but model m1 takes 3/],
      [file([{ model: 'm1', z: [0, 0, 0] }, { model: 'm1', z: [0, 5, 0] }]), /face 2: z\[1\] = 5 is outside the prior's range \[-1, 1\]/],
      [file([{ model: 'm9', z: [0, 0, 0] }]), /face 1 is for model "m9", which this server does not have/],
      [file([{ model: 'm1', z: [0, 'x', 0] }]), /face 1: z must be a list of numbers/],
      [file([{ model: 'm1', z: [0.1, 0, 0], lineage: { op: 'cross', parents: [] } }]), /face 1: its lineage is not valid/],
      [file(['garbage']), /face 1 is not a face/],
    ]
    for (const [text, message] of bad) {
      expect(() => g.importJson(text, CONTRACTS)).toThrow(GalleryError)
      expect(() => g.importJson(text, CONTRACTS)).toThrow(message)
    }
    expect(g.entries.map((e) => e.name)).toEqual(['keep'])
  })
})
