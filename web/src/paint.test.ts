import { describe, expect, it } from 'vitest'
import { WheelAccumulator, cellsBetween, moveFocus } from './paint'

describe('cellsBetween', () => {
  it('fills a horizontal, vertical and diagonal drag', () => {
    expect(cellsBetween(0, 4, 10, 100)).toEqual([0, 1, 2, 3, 4])
    expect(cellsBetween(4, 0, 10, 100)).toEqual([4, 3, 2, 1, 0])
    expect(cellsBetween(3, 33, 10, 100)).toEqual([3, 13, 23, 33])
    expect(cellsBetween(0, 33, 10, 100)).toEqual([0, 11, 22, 33])
    expect(cellsBetween(5, 5, 10, 100)).toEqual([5])
  })

  it('gives each cell of a line once and connected', () => {
    const cells = cellsBetween(2, 97, 10, 100)
    expect(new Set(cells).size).toBe(cells.length)
    expect(cells[0]).toBe(2)
    expect(cells.at(-1)).toBe(97)
    for (let i = 1; i < cells.length; i++) {
      const [a, b] = [cells[i - 1], cells[i]]
      expect(Math.abs(Math.floor(a / 10) - Math.floor(b / 10))).toBeLessThanOrEqual(1)
      expect(Math.abs((a % 10) - (b % 10))).toBeLessThanOrEqual(1)
    }
  })

  it('skips the hidden cells past dim', () => {
    // dim 10 on a 4-wide grid: cells 10 and 11 are hidden
    expect(cellsBetween(9, 11, 4, 10)).toEqual([9])
  })
})

describe('moveFocus', () => {
  it('moves with arrows and stays inside', () => {
    expect(moveFocus(0, 'ArrowLeft', 10, 100)).toBe(0)
    expect(moveFocus(0, 'ArrowRight', 10, 100)).toBe(1)
    expect(moveFocus(0, 'ArrowUp', 10, 100)).toBe(0)
    expect(moveFocus(0, 'ArrowDown', 10, 100)).toBe(10)
    expect(moveFocus(95, 'ArrowDown', 10, 100)).toBe(95)
    expect(moveFocus(99, 'ArrowRight', 10, 100)).toBe(99)
    expect(moveFocus(15, 'Home', 10, 100)).toBe(10)
    expect(moveFocus(15, 'End', 10, 100)).toBe(19)
  })

  it('does not enter hidden cells', () => {
    // dim 10, 4 cols: last row holds 8, 9
    expect(moveFocus(6, 'ArrowDown', 4, 10)).toBe(6)
    expect(moveFocus(5, 'ArrowDown', 4, 10)).toBe(9)
    expect(moveFocus(8, 'End', 4, 10)).toBe(9)
  })
})

describe('WheelAccumulator', () => {
  it('turns one notch into 8 levels, up = more', () => {
    const w = new WheelAccumulator()
    expect(w.push(-100)).toBe(8)
    expect(w.push(100)).toBe(-8)
    expect(w.push(-3, 1)).toBe(9)
  })

  it('adds up small trackpad deltas', () => {
    const w = new WheelAccumulator()
    let total = 0
    for (let i = 0; i < 10; i++) total += w.push(-5)
    expect(total).toBe(4)
  })
})
