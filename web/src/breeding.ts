/**
 * Breeding and lineage: faces made by "children" or "cross" remember their
 * parents (by face id, a short hash of model and z) and the operation, and their
 * parents' own lineage, a few generations deep. Lineages travel with the history
 * (a book keyed by face), the gallery and share links.
 */
import { zKey } from './editor'
import type { Face } from './types'

/** Children per request, and the parents a cross takes (as the server does). */
export const BROOD = 6
export const CROSS_MIN = 2
export const CROSS_MAX = 8
/** Children's amount: share of the prior's spread. */
export const AMOUNT_MIN = 0.05
export const AMOUNT_MAX = 1
/** Generations kept in a lineage (older ones are dropped), and its size at most. */
export const LINEAGE_DEPTH = 4
const LINEAGE_NODES = 64

export interface ParentRef {
  id: string
  /** How the parent itself was bred, when it was. */
  lineage?: Lineage
}

export type Lineage =
  | { op: 'children'; parents: [ParentRef]; amount: number; lock: boolean }
  | { op: 'cross'; parents: ParentRef[] }

export class LineageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LineageError'
  }
}

/** A short id for a face: FNV-1a (32 bit) of the model name and z's float32 bytes, in base 36. */
export function faceId(model: string, z: readonly number[]): string {
  let h = 0x811c9dc5
  const mix = (byte: number): void => {
    h ^= byte
    h = Math.imul(h, 0x01000193) >>> 0
  }
  for (const ch of new TextEncoder().encode(model)) mix(ch)
  mix(0)
  for (const b of new Uint8Array(Float32Array.from(z).buffer)) mix(b)
  return h.toString(36).padStart(7, '0')
}

/** Cuts a lineage to `depth` generations. */
export function trimLineage(lineage: Lineage, depth = LINEAGE_DEPTH): Lineage {
  const parents = lineage.parents.map((p) =>
    p.lineage && depth > 1 ? { id: p.id, lineage: trimLineage(p.lineage, depth - 1) } : { id: p.id },
  )
  return lineage.op === 'children' ? { ...lineage, parents: [parents[0]] } : { op: 'cross', parents }
}

/** A face as a parent: its id and (one generation shorter) its own lineage. */
export function parentRef(face: Pick<Face, 'model' | 'z'>, lineage?: Lineage): ParentRef {
  const id = faceId(face.model, face.z)
  return lineage ? { id, lineage: trimLineage(lineage, LINEAGE_DEPTH - 1) } : { id }
}

export function childLineage(parent: ParentRef, amount: number, lock: boolean): Lineage {
  return { op: 'children', parents: [parent], amount, lock }
}

export function crossLineage(parents: ParentRef[]): Lineage {
  return { op: 'cross', parents }
}

/** Checks data read from storage, a file or a link; throws LineageError saying what is wrong. */
export function toLineage(data: unknown): Lineage {
  let nodes = 0
  const read = (d: unknown, depth: number): Lineage => {
    if (depth > LINEAGE_DEPTH) throw new LineageError(`it is deeper than ${LINEAGE_DEPTH} generations`)
    if (!d || typeof d !== 'object') throw new LineageError('a lineage must be an object')
    const o = d as Record<string, unknown>
    if (!Array.isArray(o.parents)) throw new LineageError('a lineage needs a list of parents')
    const parents = o.parents.map((p): ParentRef => {
      if (++nodes > LINEAGE_NODES) throw new LineageError(`it names more than ${LINEAGE_NODES} parents`)
      const q = (p ?? {}) as Record<string, unknown>
      if (typeof q.id !== 'string' || !/^[0-9a-z]{1,16}$/.test(q.id)) {
        throw new LineageError(`parent id ${JSON.stringify(q.id)} is not a face id`)
      }
      return q.lineage === undefined ? { id: q.id } : { id: q.id, lineage: read(q.lineage, depth + 1) }
    })
    if (o.op === 'children') {
      if (parents.length !== 1) throw new LineageError('children have exactly one parent')
      const amount = o.amount
      if (typeof amount !== 'number' || !(amount > 0 && amount <= AMOUNT_MAX)) {
        throw new LineageError(`the amount ${JSON.stringify(amount)} is not in (0, ${AMOUNT_MAX}]`)
      }
      if (typeof o.lock !== 'boolean') throw new LineageError('"lock" must be true or false')
      return { op: 'children', parents: [parents[0]], amount, lock: o.lock }
    }
    if (o.op === 'cross') {
      if (parents.length < CROSS_MIN || parents.length > CROSS_MAX) {
        throw new LineageError(`a cross has ${CROSS_MIN} to ${CROSS_MAX} parents, not ${parents.length}`)
      }
      return { op: 'cross', parents }
    }
    throw new LineageError(`the operation ${JSON.stringify(o.op)} is unknown (expected children or cross)`)
  }
  return read(data, 1)
}

/**
 * The lineage in words, newest first, e.g. "child of #12ab3cd (lock, 0.3) ← cross of #4 × #9".
 * `nameOf` gives a face's name (from the gallery) where it has one.
 */
export function describeLineage(lineage: Lineage, nameOf: (id: string) => string | undefined = () => undefined): string {
  const ref = (p: ParentRef): string => {
    const name = nameOf(p.id)
    return name ? `“${name}”` : `#${p.id}`
  }
  const head =
    lineage.op === 'children'
      ? `child of ${ref(lineage.parents[0])} (${lineage.lock ? 'lock, ' : ''}${lineage.amount})`
      : `cross of ${lineage.parents.map(ref).join(' × ')}`
  const bred = lineage.parents.filter((p) => p.lineage)
  if (!bred.length) return head
  if (lineage.parents.length === 1) return `${head} ← ${describeLineage(bred[0].lineage as Lineage, nameOf)}`
  return `${head} ← ${bred.map((p) => `${ref(p)}: ${describeLineage(p.lineage as Lineage, nameOf)}`).join('; ')}`
}

/** The lineages of bred faces, by face (model and z), so that history, undo and links find them. */
export class LineageBook {
  private entries = new Map<string, Lineage>()

  constructor(readonly limit = 500) {}

  get(face: Pick<Face, 'model' | 'z'>): Lineage | undefined {
    return this.entries.get(zKey(face.model, face.z))
  }

  set(face: Pick<Face, 'model' | 'z'>, lineage: Lineage): void {
    const key = zKey(face.model, face.z)
    this.entries.delete(key)
    this.entries.set(key, lineage)
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string)
  }
}
