/** Undo/redo of whole states (z vectors are small, so snapshots are simplest). */
export class UndoStack<T> {
  past: T[] = []
  future: T[] = []

  constructor(readonly limit = 200) {}

  /** Records `previous` (the state before a change) as one undo step; clears redo. */
  record(previous: T): void {
    this.past.push(previous)
    if (this.past.length > this.limit) this.past.splice(0, this.past.length - this.limit)
    this.future = []
  }

  get canUndo(): boolean {
    return this.past.length > 0
  }

  get canRedo(): boolean {
    return this.future.length > 0
  }

  /** Returns the state to go back to, given the current one, or undefined. */
  undo(current: T): T | undefined {
    const previous = this.past.pop()
    if (previous === undefined) return undefined
    this.future.push(current)
    return previous
  }

  redo(current: T): T | undefined {
    const next = this.future.pop()
    if (next === undefined) return undefined
    this.past.push(current)
    return next
  }

  clear(): void {
    this.past = []
    this.future = []
  }
}

/** The last `limit` distinct items, newest first, keyed by `key`. */
export class RecentList<T> {
  items: T[] = []

  constructor(
    private readonly key: (item: T) => string,
    readonly limit = 20,
  ) {}

  /** Adds (or moves to the front) an item; returns the items that fell off the end. */
  add(item: T): T[] {
    const k = this.key(item)
    const at = this.items.findIndex((i) => this.key(i) === k)
    if (at === 0) return []
    if (at > 0) this.items.splice(at, 1)
    this.items.unshift(item)
    return this.items.length > this.limit ? this.items.splice(this.limit) : []
  }

  find(key: string): T | undefined {
    return this.items.find((i) => this.key(i) === key)
  }

  clear(): void {
    this.items = []
  }
}
