import { describe, expect, it } from 'vitest'
import { childrenZ, crossZ, localBreeder, reflect } from './breedlocal'
import type { ZContract } from './types'

const UNIFORM: ZContract = { dim: 4, prior: 'uniform', low: -1, high: 1 }
const NORMAL: ZContract = { dim: 4, prior: 'normal', low: -3, high: 3 }
const IDENTITY = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)))

describe('reflect', () => {
  it('folds values back into the box as linear.reflect does', () => {
    expect(reflect(0.3, -1, 1)).toBeCloseTo(0.3)
    expect(reflect(1.2, -1, 1)).toBeCloseTo(0.8)
    expect(reflect(-1.5, -1, 1)).toBeCloseTo(-0.5)
    expect(reflect(3.5, -1, 1)).toBeCloseTo(-0.5)
    expect(reflect(5, -3, 3)).toBeCloseTo(1)
  })
})

describe('childrenZ', () => {
  it('gives n children inside the box, the same for the same seed, straying with the amount', () => {
    const z = [0.9, -0.9, 0, 0.5]
    const few = childrenZ(z, 200, 0.1, UNIFORM, 3)
    const far = childrenZ(z, 200, 1, UNIFORM, 3)
    expect(few).toHaveLength(200)
    expect(childrenZ(z, 200, 0.1, UNIFORM, 3)).toEqual(few)
    const stray = (kids: number[][]) => kids.flat().reduce((s, v, i) => s + Math.abs(v - z[i % 4]), 0) / (kids.length * 4)
    expect(stray(few)).toBeLessThan(0.06) // amount 0.1 of a uniform draw: about 0.05 a value
    expect(stray(far)).toBeGreaterThan(0.3)
    for (const v of [...few, ...far].flat()) expect(Math.abs(v)).toBeLessThanOrEqual(1)
    for (const v of childrenZ([2.9, 0, 0, 0], 50, 1, NORMAL, 1).flat()) expect(Math.abs(v)).toBeLessThanOrEqual(3)
    expect(() => childrenZ(z, 1, 0, UNIFORM, 1)).toThrow(/amount/)
  })
})

describe('crossZ', () => {
  const a = [0.5, -0.5, 0.25, 1]
  const b = [-0.5, 0.5, -0.25, -1]

  it('takes each coordinate along the basis from one parent', () => {
    const kids = crossZ([a, b], 50, IDENTITY, UNIFORM, 7)
    for (const kid of kids) kid.forEach((v, j) => expect([a[j], b[j]]).toContain(v))
    const fromA = kids.flat().filter((v, i) => v === a[i % 4]).length / (50 * 4)
    expect(fromA).toBeGreaterThan(0.35) // each parent as likely
    expect(fromA).toBeLessThan(0.65)
  })

  it('gives the parent back when the parents are one face, in any orthonormal basis', () => {
    const s = Math.SQRT1_2
    const rotated = [
      [s, s, 0, 0],
      [s, -s, 0, 0],
      [0, 0, s, s],
      [0, 0, s, -s],
    ]
    for (const kid of crossZ([a, a, a], 3, rotated, UNIFORM, 2)) kid.forEach((v, j) => expect(v).toBeCloseTo(a[j], 5))
    expect(() => crossZ([a], 1, IDENTITY, UNIFORM, 1)).toThrow(/2 parents/)
  })
})

describe('localBreeder', () => {
  it("answers as the server's breeding endpoints do, with the page's faces", async () => {
    const breeder = localBreeder(UNIFORM, IDENTITY, async (z) => z.map((row) => `face:${row[0]}`), () => 5)
    const res = await breeder.cross({ parents: [[0.5, 0, 0, 0], [0.5, 0, 0, 0]], n: 2 })
    expect(res.faces).toEqual([
      { z: [0.5, 0, 0, 0], image: 'face:0.5' },
      { z: [0.5, 0, 0, 0], image: 'face:0.5' },
    ])
    expect((await breeder.children({ z: [0, 0, 0, 0], n: 3, amount: 0.5 })).faces).toHaveLength(3)
  })
})
