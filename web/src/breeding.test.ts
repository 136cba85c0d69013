import { describe, expect, it } from 'vitest'
import {
  LINEAGE_DEPTH,
  LineageBook,
  LineageError,
  childLineage,
  crossLineage,
  describeLineage,
  faceId,
  parentRef,
  toLineage,
  type Lineage,
} from './breeding'

const face = (v: number) => ({ model: 'm1', z: [v, v, v] })

describe('faceId', () => {
  it('is short, stable, and differs by z and model', () => {
    const id = faceId('m1', [0, 0.5, 1])
    expect(id).toMatch(/^[0-9a-z]{7}$/)
    expect(faceId('m1', [0, 0.5, 1])).toBe(id)
    expect(faceId('m1', [0, 0.5, 0.9])).not.toBe(id)
    expect(faceId('m2', [0, 0.5, 1])).not.toBe(id)
  })
})

describe('lineage', () => {
  it('a child of a cross reads newest first', () => {
    const cross = crossLineage([parentRef(face(0.1)), parentRef(face(0.2))])
    const child = childLineage(parentRef(face(0.3), cross), 0.3, true)
    const [a, b, c] = [face(0.1), face(0.2), face(0.3)].map((f) => faceId(f.model, f.z))
    expect(describeLineage(child)).toBe(`child of #${c} (lock, 0.3) ← cross of #${a} × #${b}`)
    expect(describeLineage(child, (id) => (id === a ? 'Ann' : undefined))).toBe(
      `child of #${c} (lock, 0.3) ← cross of “Ann” × #${b}`,
    )
    const cross2 = crossLineage([parentRef(face(0.4), child), parentRef(face(0.5))])
    expect(describeLineage(cross2)).toContain(`← #${faceId('m1', [0.4, 0.4, 0.4])}: child of #${c} (lock, 0.3) ← cross of`)
    expect(describeLineage(childLineage({ id: 'abc' }, 0.05, false))).toBe('child of #abc (0.05)')
  })

  it('keeps a few generations only', () => {
    let lineage: Lineage = childLineage({ id: 'a0' }, 0.5, false)
    for (let i = 1; i < 10; i++) lineage = childLineage(parentRef(face(i / 10), lineage), 0.5, false)
    let depth = 0
    for (let l: Lineage | undefined = lineage; l; l = l.parents[0].lineage) depth++
    expect(depth).toBe(LINEAGE_DEPTH)
    expect(toLineage(JSON.parse(JSON.stringify(lineage)))).toEqual(lineage)
  })

  it('reads back what it wrote, and rejects garbage readably', () => {
    const good = childLineage(parentRef(face(0), crossLineage([{ id: 'a' }, { id: 'b' }])), 0.3, true)
    expect(toLineage(JSON.parse(JSON.stringify(good)))).toEqual(good)
    const bad: [unknown, RegExp][] = [
      [null, /must be an object/],
      [{ op: 'children', parents: 'x' }, /list of parents/],
      [{ op: 'children', parents: [{ id: 'a' }], amount: 2, lock: true }, /amount 2 is not in/],
      [{ op: 'children', parents: [{ id: 'a' }], amount: 0.3 }, /lock/],
      [{ op: 'children', parents: [{ id: 'a' }, { id: 'b' }], amount: 0.3, lock: true }, /exactly one parent/],
      [{ op: 'cross', parents: [{ id: 'a' }] }, /2 to 8 parents, not 1/],
      [{ op: 'cross', parents: [{ id: 'A!' }, { id: 'b' }] }, /not a face id/],
      [{ op: 'mutate', parents: [] }, /"mutate" is unknown/],
    ]
    for (const [data, message] of bad) expect(() => toLineage(data)).toThrow(message)
    expect(() => toLineage(null)).toThrow(LineageError)
  })
})

describe('LineageBook', () => {
  it('finds a lineage by face and forgets the oldest beyond its limit', () => {
    const book = new LineageBook(2)
    const l = crossLineage([{ id: 'a' }, { id: 'b' }])
    book.set(face(1), l)
    book.set(face(2), l)
    book.set(face(3), l)
    expect(book.get(face(1))).toBeUndefined()
    expect(book.get(face(3))).toBe(l)
    expect(book.get({ model: 'm2', z: [3, 3, 3] })).toBeUndefined()
  })
})
