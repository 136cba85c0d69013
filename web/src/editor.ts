/**
 * The z being edited: painting strokes, nudges, whole replacements, selection
 * and stroke-level undo/redo. Plain TypeScript (wrapped in Vue's reactive() by the page).
 */
import { UndoStack } from './history'
import type { ZContract } from './types'
import { clampValue, meanVector, nudgeValue, samplePrior } from './zmap'

interface Stroke {
  before: number[]
  visited: Set<number>
}

export class Editor {
  z: number[]
  selected: number[] = []
  readonly undoStack = new UndoStack<number[]>()
  private stroke: Stroke | null = null

  constructor(
    public contract: ZContract,
    z?: number[],
  ) {
    this.z = z ? z.slice() : meanVector(contract)
  }

  get painting(): boolean {
    return this.stroke !== null
  }

  get canUndo(): boolean {
    return this.undoStack.canUndo
  }

  get canRedo(): boolean {
    return this.undoStack.canRedo
  }

  /** Switches to another model's z contract: new z, no undo history, no selection. */
  reset(contract: ZContract, z?: number[]): void {
    this.contract = contract
    this.z = z ? z.slice() : meanVector(contract)
    this.selected = []
    this.stroke = null
    this.undoStack.clear()
  }

  beginStroke(): void {
    if (!this.stroke) this.stroke = { before: this.z, visited: new Set() }
  }

  /** Paints one cell; within a stroke each cell is painted once. Returns true when z changed. */
  paint(index: number, value: number): boolean {
    if (index < 0 || index >= this.z.length) return false
    const single = !this.stroke
    if (single) this.beginStroke()
    const stroke = this.stroke as Stroke
    let changed = false
    if (!stroke.visited.has(index)) {
      stroke.visited.add(index)
      changed = this.setCell(index, clampValue(value, this.contract))
    }
    if (single) this.endStroke()
    return changed
  }

  /** Moves one cell by `levels` paint levels; inside a stroke it joins that undo step. */
  nudge(index: number, levels: number): boolean {
    if (index < 0 || index >= this.z.length) return false
    const single = !this.stroke
    if (single) this.beginStroke()
    const changed = this.setCell(index, nudgeValue(this.z[index], levels, this.contract))
    if (single) this.endStroke()
    return changed
  }

  /** Ends the stroke: one undo step if anything changed. */
  endStroke(): void {
    const stroke = this.stroke
    this.stroke = null
    if (stroke && !sameVector(stroke.before, this.z)) this.undoStack.record(stroke.before)
  }

  /** Replaces the whole z (random, reset, paste, restore...) as one undo step. */
  setZ(z: number[]): boolean {
    if (this.stroke) this.endStroke()
    const next = z.map((v) => clampValue(v, this.contract))
    if (next.length !== this.contract.dim || sameVector(next, this.z)) return false
    this.undoStack.record(this.z)
    this.z = next
    return true
  }

  /**
   * Replaces the whole z as part of the open stroke (a slider drag: z follows the
   * slider, and the drag is one undo step at endStroke()); opens a stroke if none is.
   */
  glide(z: number[]): boolean {
    const next = z.map((v) => clampValue(v, this.contract))
    if (next.length !== this.contract.dim || sameVector(next, this.z)) return false
    this.beginStroke()
    this.z = next
    return true
  }

  /** Draws the selected cells from the prior (one undo step). */
  randomizeSelected(random: () => number = Math.random): boolean {
    if (!this.selected.length) return false
    const next = this.z.slice()
    for (const i of this.selected) next[i] = samplePrior(this.contract, random)
    return this.setZ(next)
  }

  undo(): boolean {
    if (this.stroke) this.endStroke()
    const previous = this.undoStack.undo(this.z)
    if (previous === undefined) return false
    this.z = previous
    return true
  }

  redo(): boolean {
    if (this.stroke) this.endStroke()
    const next = this.undoStack.redo(this.z)
    if (next === undefined) return false
    this.z = next
    return true
  }

  isSelected(index: number): boolean {
    return this.selected.includes(index)
  }

  setSelected(index: number, on: boolean): void {
    if (index < 0 || index >= this.z.length) return
    const has = this.selected.includes(index)
    if (on && !has) this.selected = [...this.selected, index].sort((a, b) => a - b)
    if (!on && has) this.selected = this.selected.filter((i) => i !== index)
  }

  toggleSelected(index: number): void {
    this.setSelected(index, !this.isSelected(index))
  }

  selectAll(): void {
    this.selected = this.z.map((_, i) => i)
  }

  clearSelection(): void {
    this.selected = []
  }

  private setCell(index: number, value: number): boolean {
    if (this.z[index] === value) return false
    const next = this.z.slice()
    next[index] = value
    this.z = next
    return true
  }
}

export function sameVector(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A string key for a face: the model and its z. */
export function zKey(model: string, z: readonly number[]): string {
  return `${model}:${z.join(',')}`
}
