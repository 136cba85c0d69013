// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, reactive } from 'vue'
import { Editor } from '../editor'
import { STEPS } from '../zmap'
import { WHEEL_STROKE_MS, useEditing } from './useEditing'

const CONTRACT = { dim: 3, prior: 'uniform', low: -1, high: 1 }

function setup() {
  const editor = reactive(new Editor(CONTRACT)) as Editor
  const remember = vi.fn()
  const messages = { succeeded: vi.fn() }
  const scope = effectScope()
  const editing = scope.run(() => useEditing(editor, remember, messages))!
  return { editor, remember, messages, scope, editing }
}

function press(key: string, options: KeyboardEventInit = {}, target: EventTarget = window): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, ctrlKey: true, bubbles: true, cancelable: true, ...options })
  target.dispatchEvent(e)
  return e
}

afterEach(() => {
  vi.useRealTimers()
  document.body.innerHTML = ''
})

describe('useEditing', () => {
  beforeEach(() => vi.useFakeTimers())

  it('mouse-wheel nudges close together are one undo step, in the history once they stop', () => {
    const { editor, remember, messages, scope, editing } = setup()
    editing.wheelNudge(0, 1)
    vi.advanceTimersByTime(WHEEL_STROKE_MS - 100)
    editing.wheelNudge(0, 1)
    editing.wheelNudge(2, -1)
    expect(editor.painting).toBe(true)
    expect(remember).not.toHaveBeenCalled()
    vi.advanceTimersByTime(WHEEL_STROKE_MS)
    expect(editor.painting).toBe(false)
    expect(remember).toHaveBeenCalledTimes(1)
    expect(messages.succeeded).toHaveBeenCalledTimes(1)
    expect(editor.z[0]).toBeGreaterThan(0)
    expect(editor.z[2]).toBeLessThan(0)
    expect(editor.undoStack.past).toHaveLength(1)
    editing.undo()
    expect(editor.z).toEqual([0, 0, 0])
    scope.stop()
  })

  it('Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo; a success only when something changed', () => {
    const { editor, messages, scope } = setup()
    editor.setZ([1, 1, 1])
    expect(press('z').defaultPrevented).toBe(true)
    expect(editor.z).toEqual([0, 0, 0])
    press('Z', { shiftKey: true })
    expect(editor.z).toEqual([1, 1, 1])
    press('z', { ctrlKey: false, metaKey: true })
    press('y')
    expect(editor.z).toEqual([1, 1, 1])
    expect(messages.succeeded).toHaveBeenCalledTimes(4)
    press('y') // nothing to redo
    expect(messages.succeeded).toHaveBeenCalledTimes(4)
    scope.stop()
  })

  it('leaves Ctrl+Z to text fields, to Alt and to plain keys, and stops listening when disposed', () => {
    const { editor, scope } = setup()
    editor.setZ([1, 1, 1])
    const field = document.body.appendChild(document.createElement('input'))
    expect(press('z', {}, field).defaultPrevented).toBe(false)
    press('z', { altKey: true })
    press('z', { ctrlKey: false })
    expect(editor.z).toEqual([1, 1, 1])
    const slider = document.body.appendChild(Object.assign(document.createElement('input'), { type: 'range' }))
    press('z', {}, slider) // a slider has no undo of its own
    expect(editor.z).toEqual([0, 0, 0])
    editor.setZ([1, 1, 1])
    scope.stop()
    press('z')
    expect(editor.z).toEqual([1, 1, 1])
  })

  it('a stroke ends in the history; another model starts painting with its mid grey', () => {
    const { editor, remember, messages, scope, editing } = setup()
    editor.beginStroke()
    editor.paint(1, 1)
    editing.endStroke()
    expect(editor.undoStack.past).toHaveLength(1)
    expect(remember).toHaveBeenCalledTimes(1)
    expect(messages.succeeded).toHaveBeenCalledTimes(1)
    editing.mode.value = 'select'
    editing.greyLevel.value = 0
    editing.startOver({ dim: 2, prior: 'normal', low: -3, high: 3 })
    expect(editing.mode.value).toBe('paint')
    expect(editing.greyLevel.value).toBe(STEPS / 2)
    scope.stop()
  })
})
