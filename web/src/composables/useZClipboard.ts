/**
 * Copy z as JSON and paste it back: through the clipboard where the page may
 * use it, else through a text box on the page.
 */
import { nextTick, ref, toRaw, type Ref } from 'vue'
import { errorMessage } from '../api'
import { copyText, readText } from '../clipboard'
import type { Editor } from '../editor'
import { formatZJson, parseZJson } from '../zjson'
import type { Messages } from './useMessages'

/** `textArea` is the page's text box for z, shown while `box` is set. */
export function useZClipboard(
  editor: Editor,
  textArea: Readonly<Ref<HTMLTextAreaElement | null>>,
  messages: Pick<Messages, 'notify' | 'showError' | 'clearError'>,
) {
  /** The open text box: z to copy by hand, or a box to paste into. */
  const box = ref<'copy' | 'paste' | null>(null)
  const text = ref('')

  async function copy(): Promise<void> {
    const json = formatZJson(toRaw(editor.z))
    if (await copyText(json)) {
      messages.notify(`Copied z (${editor.z.length} numbers) as JSON`)
      if (box.value === 'copy') box.value = null
      return
    }
    box.value = 'copy'
    text.value = json
    await nextTick()
    textArea.value?.select()
    messages.notify('The clipboard is not available here: copy the JSON from the box')
  }

  /** Opens the paste box, filled from the clipboard when it can be read. */
  function openPaste(): void {
    box.value = 'paste'
    text.value = ''
    void nextTick(() => textArea.value?.focus())
    void readText().then((clip) => {
      if (box.value === 'paste' && !text.value && clip) text.value = clip
    })
  }

  /** Puts the pasted z into the editor, or says in the banner what is wrong with it. */
  function applyPaste(): void {
    try {
      const z = parseZJson(text.value, editor.contract)
      messages.clearError('paste')
      box.value = null
      messages.notify(editor.setZ(z) ? 'Pasted z' : 'That z is already in the editor')
    } catch (error) {
      messages.showError(`Paste: ${errorMessage(error)}`, 'paste')
    }
  }

  function close(): void {
    box.value = null
  }

  return { box, text, copy, openPaste, applyPaste, close }
}
