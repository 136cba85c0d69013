/** The system clipboard, where the page may use it (it needs a secure context and permission). */

/** Copies `text`; false when the clipboard is not available (the caller then shows the text to copy by hand). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

/** The clipboard's text, or '' when it cannot be read. */
export async function readText(): Promise<string> {
  try {
    return (await navigator.clipboard?.readText?.()) ?? ''
  } catch {
    return ''
  }
}
