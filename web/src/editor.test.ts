import { describe, expect, it } from 'vitest'
import { Editor, sameVector, zKey } from './editor'
import type { ZContract } from './types'
import { isOnLevel, levelToValue, meanVector } from './zmap'

const uniform: ZContract = { dim: 100, prior: 'uniform', low: -1, high: 1 }
const normal: ZContract = { dim: 7, prior: 'normal', low: -3, high: 3 }

describe('painting', () => {
  it('starts at the prior mean', () => {
    expect(new Editor(uniform).z).toEqual(new Array(100).fill(0))
    expect(new Editor(normal).z).toHaveLength(7)
  })

  it('a drag paints each cell once and is one undo step', () => {
    const e = new Editor(uniform)
    e.beginStroke()
    expect(e.paint(3, 1)).toBe(true)
    expect(e.paint(4, 1)).toBe(true)
    expect(e.paint(3, -1)).toBe(false) // back over cell 3: painted once per stroke
    expect(e.paint(5, 1)).toBe(true)
    expect(e.painting).toBe(true)
    e.endStroke()
    expect(e.painting).toBe(false)
    expect([e.z[3], e.z[4], e.z[5]]).toEqual([1, 1, 1])
    expect(e.undoStack.past).toHaveLength(1)
    expect(e.undo()).toBe(true)
    expect(e.z).toEqual(new Array(100).fill(0))
    expect(e.undo()).toBe(false)
    expect(e.redo()).toBe(true)
    expect([e.z[3], e.z[4], e.z[5]]).toEqual([1, 1, 1])
  })

  it('a stroke that changes nothing leaves no undo step', () => {
    const e = new Editor(uniform)
    e.beginStroke()
    e.paint(0, 0)
    e.endStroke()
    expect(e.canUndo).toBe(false)
  })

  it('two strokes are two undo steps', () => {
    const e = new Editor(uniform)
    for (const value of [1, -1]) {
      e.beginStroke()
      e.paint(0, value)
      e.paint(1, value)
      e.endStroke()
    }
    expect(e.undoStack.past).toHaveLength(2)
    e.undo()
    expect(e.z.slice(0, 2)).toEqual([1, 1])
    e.undo()
    expect(e.z.slice(0, 2)).toEqual([0, 0])
    e.redo()
    e.redo()
    expect(e.z.slice(0, 2)).toEqual([-1, -1])
    expect(e.canRedo).toBe(false)
  })

  it('a click outside a stroke is its own step; values are clamped to the contract', () => {
    const e = new Editor(normal)
    e.paint(2, 9)
    expect(e.z[2]).toBe(3)
    e.paint(2, -9)
    expect(e.z[2]).toBe(-3)
    expect(e.undoStack.past).toHaveLength(2)
    expect(e.paint(99, 1)).toBe(false)
  })

  it('a new change clears redo', () => {
    const e = new Editor(uniform)
    e.paint(0, 1)
    e.undo()
    expect(e.canRedo).toBe(true)
    e.paint(1, 1)
    expect(e.canRedo).toBe(false)
  })

  it('does not mutate old arrays (snapshots stay valid)', () => {
    const e = new Editor(uniform)
    const before = e.z
    e.paint(0, 1)
    expect(before[0]).toBe(0)
    expect(e.z).not.toBe(before)
  })
})

describe('nudges, whole-z changes and selection', () => {
  it('nudges inside a stroke merge into one step', () => {
    const e = new Editor(uniform)
    e.beginStroke()
    e.nudge(0, 8)
    e.nudge(0, 8)
    e.endStroke()
    expect(e.z[0]).toBe(levelToValue(127 + 16, uniform))
    expect(e.undoStack.past).toHaveLength(1)
    e.nudge(0, 1000)
    expect(e.z[0]).toBe(1)
    expect(e.undoStack.past).toHaveLength(2)
  })

  it('setZ is one undo step and ignores a same or wrong-length z', () => {
    const e = new Editor(normal)
    expect(e.setZ([1, 2, 3, 0, 0, 0, 0])).toBe(true)
    expect(e.setZ([1, 2, 3, 0, 0, 0, 0])).toBe(false)
    expect(e.setZ([1, 2])).toBe(false)
    expect(e.undoStack.past).toHaveLength(1)
    expect(e.setZ(meanVector(normal))).toBe(true)
    expect(e.z).toEqual(new Array(7).fill(0))
    e.undo()
    expect(e.z).toEqual([1, 2, 3, 0, 0, 0, 0])
  })

  it('randomizes only the selected squares, on the paint scale, as one step', () => {
    const e = new Editor(uniform)
    expect(e.randomizeSelected()).toBe(false)
    e.toggleSelected(4)
    e.toggleSelected(9)
    e.toggleSelected(4)
    e.setSelected(20, true)
    expect(e.selected).toEqual([9, 20])
    let n = 0
    e.randomizeSelected(() => [0.9, 0.1][n++ % 2])
    expect(e.z[9]).not.toBe(0)
    expect(e.z[20]).not.toBe(0)
    expect(isOnLevel(e.z[9], uniform) && isOnLevel(e.z[20], uniform)).toBe(true)
    expect(e.z.filter((v) => v !== 0)).toHaveLength(2)
    expect(e.undoStack.past).toHaveLength(1)
    e.clearSelection()
    expect(e.selected).toEqual([])
  })

  it('selects all squares', () => {
    const e = new Editor(normal)
    e.setSelected(3, true)
    e.selectAll()
    expect(e.selected).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(e.undoStack.past).toHaveLength(0) // selecting is no edit
  })

  it('reset to another contract clears history and selection', () => {
    const e = new Editor(uniform)
    e.paint(0, 1)
    e.setSelected(1, true)
    e.reset(normal)
    expect(e.z).toHaveLength(7)
    expect(e.canUndo).toBe(false)
    expect(e.selected).toEqual([])
    expect(e.contract).toBe(normal)
  })
})

describe('helpers', () => {
  it('compares vectors and makes keys', () => {
    expect(sameVector([1, 2], [1, 2])).toBe(true)
    expect(sameVector([1, 2], [1, 3])).toBe(false)
    expect(sameVector([1], [1, 2])).toBe(false)
    expect(zKey('m', [0.5, -1])).toBe('m:0.5,-1')
  })
})

describe('gliding (slider drags)', () => {
  it('z follows the slider, and the whole drag is one undo step', () => {
    const e = new Editor({ dim: 3, prior: 'uniform', low: -1, high: 1 })
    e.beginStroke()
    expect(e.glide([0.1, 0, 0])).toBe(true)
    expect(e.glide([0.2, 0, 2])).toBe(true)
    expect(e.z).toEqual([0.2, 0, 1]) // clamped into the range
    expect(e.glide([1])).toBe(false) // wrong length
    expect(e.canUndo).toBe(false)
    e.endStroke()
    expect(e.undoStack.past).toEqual([[0, 0, 0]])
    e.undo()
    expect(e.z).toEqual([0, 0, 0])
  })
})
