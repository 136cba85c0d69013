/**
 * Saved faces: a gallery kept in localStorage (versioned; unreadable storage is
 * kept aside and the page starts with an empty gallery), exported to and imported
 * from a JSON file (an import is checked whole against the models' z contracts:
 * a bad file changes nothing).
 */
import { type Lineage, faceId, toLineage } from './breeding'
import type { Face, ZContract } from './types'

export const GALLERY_KEY = 'dcgan-face-studio.gallery'
/** Where an unreadable gallery is kept, so that nothing is lost. */
export const GALLERY_ASIDE_KEY = `${GALLERY_KEY}.unreadable`
export const GALLERY_VERSION = 1
export const GALLERY_FORMAT = 'dcgan-face-gallery'
export const NAME_MAX = 80

export interface GalleryEntry {
  /** faceId(model, z). */
  id: string
  name: string
  model: string
  z: number[]
  /** The face as a data URL, when known. */
  image?: string
  lineage?: Lineage
  /** When it was saved (ISO 8601). */
  saved: string
}

export type GalleryStore = Pick<Storage, 'getItem' | 'setItem'>

export class GalleryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GalleryError'
  }
}

/** Checks one entry; with `contracts`, also its model and z against the model's z contract. */
function toEntry(data: unknown, where: string, contracts?: Record<string, ZContract>): GalleryEntry {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new GalleryError(`${where} is not a face`)
  const o = data as Record<string, unknown>
  if (typeof o.model !== 'string' || !o.model) throw new GalleryError(`${where} has no model name`)
  if (!Array.isArray(o.z) || !o.z.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new GalleryError(`${where}: z must be a list of numbers`)
  }
  const z = o.z as number[]
  if (contracts) {
    const c = contracts[o.model]
    if (!c) throw new GalleryError(`${where} is for model "${o.model}", which this server does not have`)
    if (z.length !== c.dim) throw new GalleryError(`${where}: z holds ${z.length} numbers, but model ${o.model} takes ${c.dim}`)
    const i = z.findIndex((v) => v < c.low || v > c.high)
    if (i >= 0) throw new GalleryError(`${where}: z[${i}] = ${z[i]} is outside the prior's range [${c.low}, ${c.high}]`)
  }
  const name = typeof o.name === 'string' && o.name.trim() ? o.name.trim().slice(0, NAME_MAX) : 'unnamed'
  let lineage: Lineage | undefined
  if (o.lineage !== undefined) {
    try {
      lineage = toLineage(o.lineage)
    } catch (error) {
      throw new GalleryError(`${where}: its lineage is not valid: ${(error as Error).message}`)
    }
  }
  const entry: GalleryEntry = {
    id: faceId(o.model, z),
    name,
    model: o.model,
    z: z.slice(),
    saved: typeof o.saved === 'string' ? o.saved : new Date(0).toISOString(),
  }
  if (typeof o.image === 'string' && o.image.startsWith('data:image/')) entry.image = o.image
  if (lineage) entry.lineage = lineage
  return entry
}

/** The faces of a gallery file or stored gallery ({format?, version, faces}); throws GalleryError. */
function readFaces(data: unknown, contracts?: Record<string, ZContract>): GalleryEntry[] {
  if (!data || typeof data !== 'object' || !Array.isArray((data as { faces?: unknown }).faces)) {
    throw new GalleryError('it is not a gallery (no list of "faces")')
  }
  const version = (data as { version?: unknown }).version
  if (version !== GALLERY_VERSION) {
    throw new GalleryError(`its version ${JSON.stringify(version)} is not ${GALLERY_VERSION} (made by another version of the page?)`)
  }
  return ((data as { faces: unknown[] }).faces).map((f, i) => toEntry(f, `face ${i + 1}`, contracts))
}

export class Gallery {
  entries: GalleryEntry[] = []

  /** `store` null: no storage here (the gallery lasts until the page is closed). */
  constructor(private readonly store: GalleryStore | null) {}

  /** Reads the saved gallery. Returns '' or, when it was unreadable, what happened (it is kept aside). */
  load(): string {
    this.entries = []
    if (!this.store) return 'This browser keeps no saved faces here: the gallery lasts until the page is closed.'
    const text = this.store.getItem(GALLERY_KEY)
    if (text === null) return ''
    try {
      this.entries = readFaces(JSON.parse(text))
      return ''
    } catch (error) {
      this.store.setItem(GALLERY_ASIDE_KEY, text)
      const why = error instanceof GalleryError ? error.message : 'it is not JSON'
      return `The saved gallery could not be read (${why}); it was kept aside and the gallery starts empty.`
    }
  }

  has(id: string): boolean {
    return this.entries.some((e) => e.id === id)
  }

  nameOf(id: string): string | undefined {
    return this.entries.find((e) => e.id === id)?.name
  }

  /** Saves a face (newest first); throws GalleryError when it is there already or storage is full. */
  add(face: Face, name: string, lineage?: Lineage): GalleryEntry {
    const entry = toEntry({ ...face, image: face.src, name, lineage, saved: new Date().toISOString() }, 'the face')
    if (this.has(entry.id)) throw new GalleryError(`this face is in the gallery already, as “${this.nameOf(entry.id)}”`)
    this.commit([entry, ...this.entries])
    return entry
  }

  remove(id: string): void {
    this.commit(this.entries.filter((e) => e.id !== id))
  }

  exportJson(): string {
    return JSON.stringify({ format: GALLERY_FORMAT, version: GALLERY_VERSION, faces: this.entries }, null, 1)
  }

  /** Adds the faces of a gallery file that are not here yet; returns how many. Throws GalleryError, changing nothing. */
  importJson(text: string, contracts: Record<string, ZContract>): number {
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      throw new GalleryError('This file is not JSON, so not a gallery.')
    }
    let faces: GalleryEntry[]
    try {
      faces = readFaces(data, contracts)
    } catch (error) {
      throw new GalleryError(`This file cannot be imported: ${(error as Error).message}. Nothing was changed.`)
    }
    const fresh = faces.filter((f, i) => !this.has(f.id) && faces.findIndex((g) => g.id === f.id) === i)
    if (fresh.length) this.commit([...this.entries, ...fresh])
    return fresh.length
  }

  /** Stores `entries`, or keeps the gallery as it was when storage fails. */
  private commit(entries: GalleryEntry[]): void {
    if (this.store) {
      try {
        this.store.setItem(GALLERY_KEY, JSON.stringify({ version: GALLERY_VERSION, faces: entries }))
      } catch (error) {
        throw new GalleryError(`the gallery could not be saved (${(error as Error).message}); export it, or delete some faces`)
      }
    }
    this.entries = entries
  }
}

/** localStorage, or null where the page may not use it. */
export function browserStore(): GalleryStore | null {
  try {
    return window.localStorage ?? null
  } catch {
    return null
  }
}
