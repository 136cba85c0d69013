/**
 * The page's two kinds of message: one error (tagged with its source, so that a
 * later success of that source clears it, and cleared by any later successful
 * action of the person) and a short-lived notice. The page shows both as toasts
 * fixed to the bottom of the window, visible at any scroll.
 */
import { onScopeDispose, ref } from 'vue'

export interface PageError {
  message: string
  source: string
}

export function useMessages(noticeMs = 4000) {
  const error = ref<PageError | null>(null)
  const notice = ref('')
  let noticeTimer: ReturnType<typeof setTimeout> | null = null

  /** Shows `message` in the banner, replacing any earlier error. */
  function showError(message: string, source = 'app'): void {
    error.value = { message, source }
  }

  /** Removes the banner if it holds an error of `source`. */
  function clearError(source: string): void {
    if (error.value?.source === source) error.value = null
  }

  /** An action of the person went well: an error from before is stale now. */
  function succeeded(): void {
    error.value = null
  }

  function dismissError(): void {
    error.value = null
  }

  /** Shows `message` for `noticeMs` (a newer notice replaces it). */
  function notify(message: string): void {
    notice.value = message
    if (noticeTimer !== null) clearTimeout(noticeTimer)
    noticeTimer = setTimeout(() => {
      notice.value = ''
      noticeTimer = null
    }, noticeMs)
  }

  onScopeDispose(() => {
    if (noticeTimer !== null) clearTimeout(noticeTimer)
  })

  return { error, notice, showError, clearError, succeeded, dismissError, notify }
}

export type Messages = ReturnType<typeof useMessages>
