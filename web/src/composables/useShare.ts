/**
 * The share link of the face on show: built from (model, z), put into the
 * address bar and the clipboard, and marked stale once z changes.
 */
import { computed, nextTick, ref, type Ref } from 'vue'
import type { Lineage } from '../breeding'
import type { ZContract } from '../types'
import { copyText } from '../clipboard'
import { zKey } from '../editor'
import { shareUrl } from '../share'
import type { Messages } from './useMessages'

export function useShare(currentKey: Ref<string | null>, messages: Pick<Messages, 'notify'>) {
  const link = ref('')
  const linkKey = ref('')
  const input = ref<HTMLInputElement | null>(null)
  /** The link is for another face than the one in the editor. */
  const stale = computed(() => !!link.value && linkKey.value !== currentKey.value)

  /** Shows the link of (model, z, lineage) without touching the address bar or the clipboard; returns it. */
  function setLink(model: string, z: number[], contract: ZContract, lineage?: Lineage): string {
    link.value = shareUrl(location.href, model, z, contract, lineage)
    linkKey.value = zKey(model, z)
    return link.value
  }

  /** Puts the link of (model, z, lineage) into the address bar and the clipboard (or the box, to copy by hand). */
  async function share(model: string, z: number[], contract: ZContract, lineage?: Lineage): Promise<void> {
    const url = setLink(model, z, contract, lineage)
    window.history.replaceState(window.history.state, '', url)
    await nextTick()
    input.value?.select()
    messages.notify((await copyText(url)) ? 'Share link copied to the clipboard' : 'Share link ready: copy it from the box')
  }

  return { link, input, stale, setLink, share }
}
