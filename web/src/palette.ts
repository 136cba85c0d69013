/** The paint palette above the grid: its swatches (black … white), the grey a model starts with, and what the greys mean. */
import type { ZContract } from './types'
import { STEPS, formatValue, levelToValue, priorMean, valueToLevel } from './zmap'

export interface Swatch {
  level: number
  name: string
  value: number
}

const SWATCHES = [
  { level: 0, name: 'black' },
  { level: 64, name: 'dark grey' },
  { level: STEPS / 2, name: 'mid grey' },
  { level: STEPS - 64, name: 'light grey' },
  { level: STEPS, name: 'white' },
]

/** The five swatches, with the z value each paints under `c`. */
export function swatches(c: ZContract): Swatch[] {
  return SWATCHES.map((s) => ({ ...s, value: levelToValue(s.level, c) }))
}

/** The paint grey a model starts with: its prior's mean. */
export function startLevel(c: ZContract): number {
  return valueToLevel(priorMean(c), c)
}

/** The line above the grid: what a square is, and which z black, white and mid grey stand for. */
export function mappingText(c: ZContract): string {
  const range = c.prior === 'normal' ? `shown on [${c.low}, ${c.high}]` : `on [${c.low}, ${c.high}]`
  return (
    `Each square is one of the ${c.dim} numbers of z (prior: ${c.prior}, ${range}). ` +
    `Black = ${formatValue(c.low)} (the prior's low end), white = ${formatValue(c.high)} (its high end), ` +
    `mid grey = ${formatValue(levelToValue(STEPS / 2, c))}.`
  )
}
