import { describe, expect, it } from 'vitest'
import type { ZContract } from './types'
import {
  STEPS,
  clampValue,
  greyToValue,
  gridShape,
  isOnLevel,
  levelToValue,
  meanVector,
  nudgeValue,
  priorMean,
  samplePrior,
  valueToCss,
  valueToGrey,
  valueToLevel,
} from './zmap'

const uniform: ZContract = { dim: 100, prior: 'uniform', low: -1, high: 1 }
const normal: ZContract = { dim: 64, prior: 'normal', low: -3, high: 3 }

describe('value <-> grey', () => {
  it.each([
    [uniform, -1, 0],
    [uniform, 0, 0.5],
    [uniform, 1, 1],
    [uniform, 0.5, 0.75],
    [normal, -3, 0],
    [normal, 0, 0.5],
    [normal, 3, 1],
    [normal, 1.5, 0.75],
  ])('maps %o value %d to grey %d', (c, value, grey) => {
    expect(valueToGrey(value, c)).toBeCloseTo(grey, 12)
    expect(greyToValue(grey, c)).toBeCloseTo(value, 12)
  })

  it('black is low and white is high, exactly', () => {
    for (const c of [uniform, normal]) {
      expect(greyToValue(0, c)).toBe(c.low)
      expect(greyToValue(1, c)).toBe(c.high)
      expect(valueToCss(c.low, c)).toBe('rgb(0, 0, 0)')
      expect(valueToCss(c.high, c)).toBe('rgb(255, 255, 255)')
    }
  })

  it('clamps values and greys outside the range', () => {
    expect(valueToGrey(-7, uniform)).toBe(0)
    expect(valueToGrey(7, uniform)).toBe(1)
    expect(valueToGrey(-4, normal)).toBe(0)
    expect(greyToValue(-0.2, normal)).toBe(-3)
    expect(greyToValue(1.5, normal)).toBe(3)
    expect(clampValue(2, uniform)).toBe(1)
    expect(clampValue(-2, uniform)).toBe(-1)
    expect(clampValue(2, normal)).toBe(2)
    expect(clampValue(Number.NaN, normal)).toBe(0)
  })

  it('round-trips value -> grey -> value', () => {
    for (const c of [uniform, normal]) {
      for (let i = 0; i <= 50; i++) {
        const v = c.low + ((c.high - c.low) * i) / 50
        expect(greyToValue(valueToGrey(v, c), c)).toBeCloseTo(v, 12)
      }
    }
  })

  it('uses the contract, not fixed numbers', () => {
    const odd: ZContract = { dim: 3, prior: 'uniform', low: 0, high: 10 }
    expect(valueToGrey(5, odd)).toBe(0.5)
    expect(levelToValue(STEPS / 2, odd)).toBe(5)
    expect(valueToCss(0, odd)).toBe('rgb(0, 0, 0)')
  })
})

describe('paint levels', () => {
  it('has an exact middle and exact ends', () => {
    expect(levelToValue(STEPS / 2, uniform)).toBe(0)
    expect(levelToValue(STEPS / 2, normal)).toBe(0)
    expect(levelToValue(0, normal)).toBe(-3)
    expect(levelToValue(STEPS, normal)).toBe(3)
    expect(levelToValue(-5, uniform)).toBe(-1)
    expect(levelToValue(STEPS + 9, uniform)).toBe(1)
  })

  it('round-trips level -> value -> level for every level', () => {
    for (const c of [uniform, normal]) {
      for (let l = 0; l <= STEPS; l++) {
        const v = levelToValue(l, c)
        expect(valueToLevel(v, c)).toBe(l)
        expect(isOnLevel(v, c)).toBe(true)
      }
    }
    expect(isOnLevel(0.123456, uniform)).toBe(false)
  })

  it('nudges by levels and clamps at the ends', () => {
    expect(nudgeValue(0, 8, uniform)).toBe(levelToValue(STEPS / 2 + 8, uniform))
    expect(nudgeValue(0.99, 8, uniform)).toBe(1)
    expect(nudgeValue(-2.99, -8, normal)).toBe(-3)
  })

  it('prior mean and samples stay in range and on the paint scale', () => {
    expect(priorMean(uniform)).toBe(0)
    expect(priorMean(normal)).toBe(0)
    expect(priorMean({ dim: 2, prior: 'uniform', low: 0, high: 1 })).toBe(0.5)
    expect(meanVector(normal)).toEqual(new Array(64).fill(0))
    let seed = 1
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
    for (const c of [uniform, normal]) {
      for (let i = 0; i < 500; i++) {
        const v = samplePrior(c, random)
        expect(v).toBeGreaterThanOrEqual(c.low)
        expect(v).toBeLessThanOrEqual(c.high)
        expect(isOnLevel(v, c)).toBe(true)
      }
    }
  })
})

describe('grid shape', () => {
  it.each([
    [100, 10, 10],
    [64, 8, 8],
    [128, 11, 12],
    [99, 10, 10],
    [101, 10, 11],
    [2, 1, 2],
    [1, 1, 1],
    [512, 23, 23],
    [0, 0, 0],
  ])('dim %d -> %d rows x %d cols', (dim, rows, cols) => {
    const shape = gridShape(dim)
    expect(shape).toEqual({ rows, cols })
    expect(shape.rows * shape.cols).toBeGreaterThanOrEqual(dim)
  })

  it('is as square as possible: never a whole empty row, cols - rows <= 1', () => {
    for (let dim = 1; dim <= 600; dim++) {
      const { rows, cols } = gridShape(dim)
      expect(rows * cols).toBeGreaterThanOrEqual(dim)
      expect((rows - 1) * cols).toBeLessThan(dim)
      expect(cols - rows).toBeGreaterThanOrEqual(0)
      expect(cols - rows).toBeLessThanOrEqual(1)
    }
  })
})
