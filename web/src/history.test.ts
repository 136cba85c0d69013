import { describe, expect, it } from 'vitest'
import { RecentList, UndoStack } from './history'

describe('UndoStack', () => {
  it('undoes and redoes in order', () => {
    const s = new UndoStack<string>()
    let state = 'a'
    for (const next of ['b', 'c', 'd']) {
      s.record(state)
      state = next
    }
    state = s.undo(state)!
    expect(state).toBe('c')
    state = s.undo(state)!
    expect(state).toBe('b')
    state = s.redo(state)!
    expect(state).toBe('c')
    state = s.undo(state)!
    state = s.undo(state)!
    expect(state).toBe('a')
    expect(s.undo(state)).toBeUndefined()
    expect(s.canUndo).toBe(false)
    expect(s.canRedo).toBe(true)
  })

  it('drops redo on a new change and keeps at most `limit` steps', () => {
    const s = new UndoStack<number>(3)
    s.record(1)
    s.undo(2)
    expect(s.canRedo).toBe(true)
    s.record(1)
    expect(s.canRedo).toBe(false)
    for (let i = 2; i < 10; i++) s.record(i)
    expect(s.past).toEqual([7, 8, 9])
    s.clear()
    expect(s.canUndo || s.canRedo).toBe(false)
  })
})

describe('RecentList', () => {
  it('keeps the last distinct items, newest first', () => {
    const r = new RecentList<{ id: string }>((x) => x.id, 3)
    for (const id of ['a', 'b', 'c']) r.add({ id })
    expect(r.items.map((x) => x.id)).toEqual(['c', 'b', 'a'])
    r.add({ id: 'a' })
    expect(r.items.map((x) => x.id)).toEqual(['a', 'c', 'b'])
    expect(r.add({ id: 'a' })).toEqual([])
    expect(r.add({ id: 'd' }).map((x) => x.id)).toEqual(['b'])
    expect(r.items.map((x) => x.id)).toEqual(['d', 'a', 'c'])
    expect(r.find('c')).toEqual({ id: 'c' })
    expect(r.find('b')).toBeUndefined()
  })
})
