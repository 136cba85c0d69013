import { describe, expect, it } from 'vitest'
import { meets, sampleWhere, steerZ } from './makemelocal'
import type { LinearDirection, ZContract } from './types'

const C: ZContract = { dim: 3, prior: 'uniform', low: -1, high: 1 }
const direction = (name: string, vector: number[], step: number): LinearDirection => ({
  name,
  kind: 'attribute',
  label: name,
  how: '',
  description: '',
  step,
  vector,
})
const DIRECTIONS = [direction('Smiling', [1, 0, 0], 0.4), direction('Age', [0, 1, 0], 1)]
const BY_NAME = new Map(DIRECTIONS.map((d) => [d.name, d]))
const BOUNDARIES = { Smiling: { offset: 0.1 }, Age: { offset: 4, years_per_unit: 10 } }

describe('steerZ', () => {
  it('moves z half a step beyond a boundary it must cross, and leaves it when it is already there', () => {
    expect(steerZ([-0.5, 0, 0], { Smiling: true }, BY_NAME, BOUNDARIES, C)[0]).toBeCloseTo(0.1, 6) // 0.1 + 0.1 = 0.2 = half a step
    expect(steerZ([-0.5, 0, 0], { Smiling: false }, BY_NAME, BOUNDARIES, C)[0]).toBeCloseTo(-0.5, 6)
    expect(steerZ([0.5, 0, 0], { Smiling: false }, BY_NAME, BOUNDARIES, C)[0]).toBeCloseTo(-0.3, 6)
  })

  it('aims an age range at its middle half (distance = years / years_per_unit)', () => {
    // distance 4 + z1 units of 10 years: 30–50 years aims at 35–45, i.e. a distance of 3.5–4.5
    expect(steerZ([0, 0.9, 0], { Age: [30, 50] }, BY_NAME, BOUNDARIES, C)[1]).toBeCloseTo(0.5, 6)
    expect(steerZ([0, -0.9, 0], { Age: [30, 50] }, BY_NAME, BOUNDARIES, C)[1]).toBeCloseTo(-0.5, 6)
    expect(steerZ([0, 0.2, 0], { Age: [30, 50] }, BY_NAME, BOUNDARIES, C)[1]).toBeCloseTo(0.2, 6)
  })
})

describe('meets', () => {
  it('asks > 0.5 for a yes, ≤ 0.5 for a no, and the age within its range', () => {
    expect(meets({ Smiling: 0.7, Age: 40 }, { Smiling: true, Age: [30, 50] })).toBe(true)
    expect(meets({ Smiling: 0.7, Age: 40 }, { Smiling: false })).toBe(false)
    expect(meets({ Smiling: 0.7, Age: 55 }, { Age: [30, 50] })).toBe(false)
  })
})

describe('sampleWhere', () => {
  const sampler = (smiling: (z: number[]) => number) => {
    let seed = 0
    const made: number[][] = []
    return {
      made,
      s: {
        contract: C,
        truncation: 1,
        directions: DIRECTIONS,
        boundaries: BOUNDARIES,
        generate: async (z: number[][]) => {
          made.push(...z)
          return z.map((row) => ({ width: 1, height: 1, data: Uint8ClampedArray.from([Math.round((row[0] + 1) * 127.5), 0, 0, 255]) }))
        },
        read: async (images: { data: Uint8ClampedArray }[]) => images.map((i) => ({ Smiling: smiling([i.data[0] / 127.5 - 1]), Age: 30 })),
        encode: async (i: { data: Uint8ClampedArray }) => `face:${i.data[0]}`,
        seed: () => ++seed,
        now: () => 0,
      },
    }
  }

  it('returns the faces that meet the constraints, steered, from one batch when it has enough', async () => {
    const { s, made } = sampler((z) => (z[0] > 0.15 ? 0.9 : 0.1))
    const res = await sampleWhere({ Smiling: true }, 4, s)
    expect(res.tried).toBe(32)
    expect(res.satisfied).toBe(4)
    expect(res.faces.every((f) => f.satisfied && f.z[0] >= 0.1 - 1e-6)).toBe(true) // steered past the boundary
    expect(made.every((z) => z[0] >= 0.1 - 1e-6)).toBe(true)
    expect(res.faces[0].image).toMatch(/^face:/)
  })

  it('tries four batches, then fills the rest with misses marked unsatisfied', async () => {
    const { s } = sampler(() => 0.1) // nothing ever reads as smiling
    const res = await sampleWhere({ Smiling: true }, 3, s)
    expect(res.tried).toBe(4 * 32)
    expect(res.satisfied).toBe(0)
    expect(res.faces.map((f) => f.satisfied)).toEqual([false, false, false])
  })
})
