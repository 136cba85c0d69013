/**
 * Editing z by hand: the paint grey and the paint/select mode, strokes that end as
 * one undo step and put the face into the history (a drag, a slider drag, mouse-wheel
 * nudges less than half a second apart), and undo/redo by button or by Ctrl+Z,
 * Ctrl+Shift+Z and Ctrl+Y (⌘ on a Mac; not while typing in a text field).
 */
import { onScopeDispose, ref } from 'vue'
import type { ZContract } from '../types'
import type { Editor } from '../editor'
import { startLevel } from '../palette'
import { STEPS } from '../zmap'
import type { Messages } from './useMessages'

/** Mouse-wheel nudges closer together than this form one undo step. */
export const WHEEL_STROKE_MS = 500

/** Fields where Ctrl+Z is the field's own undo, not the page's. */
const TYPING = 'textarea, select, [contenteditable="true"], input:not([type=range]):not([type=radio]):not([type=checkbox])'

export function useEditing(
  editor: Editor,
  /** Puts the face on show into the history (useFaceOnShow's `remember`). */
  remember: () => void,
  messages: Pick<Messages, 'succeeded'>,
) {
  const greyLevel = ref(STEPS / 2)
  const mode = ref<'paint' | 'select'>('paint')
  let wheelTimer: ReturnType<typeof setTimeout> | null = null

  /** Another model (or a link) on show: paint with the prior's mean again, not selecting. */
  function startOver(contract: ZContract): void {
    mode.value = 'paint'
    greyLevel.value = startLevel(contract)
  }

  function endStroke(): void {
    editor.endStroke()
    remember()
    messages.succeeded()
  }

  function undo(): void {
    if (editor.undo()) messages.succeeded()
  }

  function redo(): void {
    if (editor.redo()) messages.succeeded()
  }

  function wheelNudge(index: number, levels: number): void {
    if (wheelTimer === null) editor.beginStroke()
    else clearTimeout(wheelTimer)
    editor.nudge(index, levels)
    wheelTimer = setTimeout(() => {
      wheelTimer = null
      endStroke()
    }, WHEEL_STROKE_MS)
  }

  function onKey(e: KeyboardEvent): void {
    if (!(e.ctrlKey || e.metaKey) || e.altKey) return
    const target = e.target as HTMLElement | null
    if (target?.closest?.(TYPING)) return
    const key = e.key.toLowerCase()
    if (key === 'z' && !e.shiftKey) {
      e.preventDefault()
      undo()
    } else if ((key === 'z' && e.shiftKey) || key === 'y') {
      e.preventDefault()
      redo()
    }
  }

  window.addEventListener('keydown', onKey)
  onScopeDispose(() => {
    window.removeEventListener('keydown', onKey)
    if (wheelTimer !== null) clearTimeout(wheelTimer)
  })

  return { greyLevel, mode, startOver, endStroke, undo, redo, wheelNudge }
}
