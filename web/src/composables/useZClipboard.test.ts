// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { reactive, ref } from 'vue'
import { Editor } from '../editor'
import { useZClipboard } from './useZClipboard'

const CONTRACT = { dim: 3, prior: 'uniform', low: -1, high: 1 }

function setup() {
  const editor = reactive(new Editor(CONTRACT)) as Editor
  const messages = { notify: vi.fn(), showError: vi.fn(), clearError: vi.fn() }
  const textArea = ref<HTMLTextAreaElement | null>(null)
  return { editor, messages, clip: useZClipboard(editor, textArea, messages) }
}

afterEach(() => vi.unstubAllGlobals())

describe('useZClipboard', () => {
  it('copies z as JSON, or shows it in the box when there is no clipboard', async () => {
    const copied: string[] = []
    vi.stubGlobal('navigator', { clipboard: { writeText: async (text: string) => void copied.push(text) } })
    const { editor, messages, clip } = setup()
    editor.setZ([0.5, -1, 1])
    await clip.copy()
    expect(copied.map((text) => JSON.parse(text))).toEqual([[0.5, -1, 1]])
    expect(clip.box.value).toBeNull()
    vi.stubGlobal('navigator', {})
    await clip.copy()
    expect(clip.box.value).toBe('copy')
    expect(JSON.parse(clip.text.value)).toEqual([0.5, -1, 1])
    expect(messages.notify).toHaveBeenLastCalledWith('The clipboard is not available here: copy the JSON from the box')
  })

  it('pastes a valid z into the editor and reports a bad one', async () => {
    vi.stubGlobal('navigator', { clipboard: { readText: async () => '[0, 0, 0.25]' } })
    const { editor, messages, clip } = setup()
    clip.openPaste()
    await vi.waitFor(() => expect(clip.text.value).toBe('[0, 0, 0.25]')) // filled from the clipboard
    clip.applyPaste()
    expect(editor.z).toEqual([0, 0, 0.25])
    expect(clip.box.value).toBeNull()
    clip.openPaste()
    clip.text.value = '[1, 2]'
    clip.applyPaste()
    expect(messages.showError).toHaveBeenCalledWith(expect.stringMatching(/^Paste: z must hold 3 numbers/), 'paste')
    expect(clip.box.value).toBe('paste')
  })
})
