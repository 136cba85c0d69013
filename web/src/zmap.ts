/**
 * z values <-> grey levels, and the shape of the grid that shows z.
 *
 * Black is the prior's low end, white its high end. Painting uses a grid of
 * STEPS + 1 evenly spaced values (0..STEPS, STEPS even so that the middle of the
 * range is exactly representable); such values share compactly (one byte each).
 */
import type { ZContract } from './types'

/** Number of intervals between low and high on the paint scale (levels 0..STEPS). */
export const STEPS = 254

export function clampValue(value: number, c: ZContract): number {
  if (Number.isNaN(value)) return priorMean(c)
  return Math.min(c.high, Math.max(c.low, value))
}

/** Grey in [0, 1] for a z value: 0 = black = low, 1 = white = high (clamped). */
export function valueToGrey(value: number, c: ZContract): number {
  const span = c.high - c.low
  if (!(span > 0)) return 0.5
  return Math.min(1, Math.max(0, (value - c.low) / span))
}

/** z value for a grey in [0, 1] (clamped). */
export function greyToValue(grey: number, c: ZContract): number {
  const g = Math.min(1, Math.max(0, Number.isNaN(grey) ? 0.5 : grey))
  if (g === 0) return c.low
  if (g === 1) return c.high
  return clampValue(c.low + (c.high - c.low) * g, c)
}

/** The value of paint level 0..STEPS. Computed as low + span*level/STEPS so the middle is exact. */
export function levelToValue(level: number, c: ZContract): number {
  const l = Math.min(STEPS, Math.max(0, Math.round(level)))
  if (l === 0) return c.low
  if (l === STEPS) return c.high
  return c.low + ((c.high - c.low) * l) / STEPS
}

/** The nearest paint level of a value (clamped). */
export function valueToLevel(value: number, c: ZContract): number {
  return Math.round(valueToGrey(value, c) * STEPS)
}

/** True when the value sits exactly on the paint scale. */
export function isOnLevel(value: number, c: ZContract): boolean {
  return levelToValue(valueToLevel(value, c), c) === value
}

/** A CSS colour for a z value. */
export function valueToCss(value: number, c: ZContract): string {
  const g = Math.round(valueToGrey(value, c) * 255)
  return `rgb(${g}, ${g}, ${g})`
}

/** The prior's mean, clamped into the range: 0 for the usual symmetric priors. */
export function priorMean(c: ZContract): number {
  const mid = c.prior === 'normal' ? 0 : (c.low + c.high) / 2
  return Math.min(c.high, Math.max(c.low, mid))
}

export function meanVector(c: ZContract): number[] {
  return new Array<number>(c.dim).fill(priorMean(c))
}

/** Moves a value by `levels` paint levels (snapping it onto the paint scale). */
export function nudgeValue(value: number, levels: number, c: ZContract): number {
  return levelToValue(valueToLevel(value, c) + levels, c)
}

export interface GridShape {
  rows: number
  cols: number
}

/** The most square rows x cols rectangle holding dim cells (cols >= rows). */
export function gridShape(dim: number): GridShape {
  const n = Math.max(0, Math.floor(dim))
  if (n === 0) return { rows: 0, cols: 0 }
  const cols = Math.ceil(Math.sqrt(n))
  const rows = Math.ceil(n / cols)
  return { rows, cols }
}

/** A standard normal draw (Box-Muller) from a uniform source. */
function normalDraw(random: () => number): number {
  let u = 0
  while (u === 0) u = random()
  const v = random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** One raw value from the prior: uniform on [low, high], or the standard normal (not clipped). */
export function drawPrior(c: ZContract, random: () => number): number {
  return c.prior === 'normal' ? normalDraw(random) : c.low + (c.high - c.low) * random()
}

/** A value drawn from the prior, clamped and snapped onto the paint scale. */
export function samplePrior(c: ZContract, random: () => number = Math.random): number {
  return levelToValue(valueToLevel(drawPrior(c, random), c), c)
}

/** Human text for a value, short. */
export function formatValue(value: number): string {
  const s = value.toFixed(2)
  return s === '-0.00' ? '0.00' : s
}
