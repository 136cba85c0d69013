/** Grid geometry for painting: which cells a drag passes over. */

/**
 * The cells on the straight line from cell `from` to cell `to` (both included,
 * in order), on a grid `cols` wide, skipping indices >= dim. Fast drags report
 * pointer positions far apart; this fills the cells in between.
 */
export function cellsBetween(from: number, to: number, cols: number, dim: number): number[] {
  if (cols <= 0) return []
  let r0 = Math.floor(from / cols)
  let c0 = from % cols
  const r1 = Math.floor(to / cols)
  const c1 = to % cols
  const dr = Math.abs(r1 - r0)
  const dc = Math.abs(c1 - c0)
  const sr = r0 < r1 ? 1 : -1
  const sc = c0 < c1 ? 1 : -1
  let err = dc - dr
  const out: number[] = []
  for (;;) {
    const index = r0 * cols + c0
    if (index >= 0 && index < dim) out.push(index)
    if (r0 === r1 && c0 === c1) break
    const e2 = 2 * err
    if (e2 > -dr) {
      err -= dr
      c0 += sc
    }
    if (e2 < dc) {
      err += dc
      r0 += sr
    }
  }
  return out
}

/** The cell index reached from `index` by an arrow key, staying inside dim cells. */
export function moveFocus(index: number, key: string, cols: number, dim: number): number {
  if (dim <= 0) return 0
  const i = Math.min(dim - 1, Math.max(0, index))
  switch (key) {
    case 'ArrowLeft':
      return Math.max(0, i - 1)
    case 'ArrowRight':
      return Math.min(dim - 1, i + 1)
    case 'ArrowUp':
      return i - cols >= 0 ? i - cols : i
    case 'ArrowDown':
      return i + cols < dim ? i + cols : i
    case 'Home':
      return i - (i % cols)
    case 'End':
      return Math.min(dim - 1, i - (i % cols) + cols - 1)
    case 'PageUp':
      return i % cols
    case 'PageDown': {
      let j = i
      while (j + cols < dim) j += cols
      return j
    }
    default:
      return i
  }
}

/** Turns wheel deltas into paint-level steps: 100 px (one notch) = 8 levels. */
export class WheelAccumulator {
  private acc = 0

  constructor(readonly pxPerLevel = 12.5) {}

  /** Returns the number of levels to add (up = positive) for this wheel event. */
  push(deltaY: number, deltaMode = 0): number {
    const px = deltaMode === 1 ? deltaY * 40 : deltaMode === 2 ? deltaY * 800 : deltaY
    this.acc -= px
    const levels = Math.trunc(this.acc / this.pxPerLevel)
    this.acc -= levels * this.pxPerLevel
    return levels
  }

  reset(): void {
    this.acc = 0
  }
}
