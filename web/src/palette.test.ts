import { describe, expect, it } from 'vitest'
import type { ZContract } from './types'
import { mappingText, startLevel, swatches } from './palette'
import { STEPS } from './zmap'

const uniform: ZContract = { dim: 100, prior: 'uniform', low: -1, high: 1 }
const normal: ZContract = { dim: 64, prior: 'normal', low: -3, high: 3 }

describe('palette', () => {
  it('has five swatches from black (low) to white (high)', () => {
    const s = swatches(uniform)
    expect(s.map((x) => x.name)).toEqual(['black', 'dark grey', 'mid grey', 'light grey', 'white'])
    expect(s.map((x) => x.level)).toEqual([0, 64, STEPS / 2, STEPS - 64, STEPS])
    expect(s[0].value).toBe(-1)
    expect(s[2].value).toBe(0)
    expect(s[4].value).toBe(1)
    expect(swatches(normal)[4].value).toBe(3)
  })

  it("starts at the prior's mean", () => {
    expect(startLevel(uniform)).toBe(STEPS / 2)
    expect(startLevel(normal)).toBe(STEPS / 2)
    expect(startLevel({ dim: 2, prior: 'uniform', low: 0, high: 1 })).toBe(STEPS / 2)
    expect(startLevel({ dim: 2, prior: 'normal', low: 0, high: 2 })).toBe(0) // the mean 0 is the low end
  })

  it('says what black, white and mid grey stand for', () => {
    expect(mappingText(uniform)).toBe(
      'Each square is one of the 100 numbers of z (prior: uniform, on [-1, 1]). ' +
        "Black = -1.00 (the prior's low end), white = 1.00 (its high end), mid grey = 0.00.",
    )
    expect(mappingText(normal)).toContain('(prior: normal, shown on [-3, 3])')
  })
})
