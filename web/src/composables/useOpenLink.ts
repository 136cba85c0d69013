/**
 * Opening share links (share.ts): the address's hash, read once the models are in
 * and again on every `hashchange`, puts the link's model and z into the editor and
 * its lineage into the book. A bad link says why in the banner; a damaged lineage
 * opens the face without it, and says so.
 */
import { onScopeDispose } from 'vue'
import type { ZContract } from '../types'
import { errorMessage } from '../api'
import type { Lineage, LineageBook } from '../breeding'
import type { Editor } from '../editor'
import { decodeLineage, decodeZ, parseShareHash } from '../share'
import type { Messages } from './useMessages'
import type { useModels } from './useModels'

export function useOpenLink(
  models: Pick<ReturnType<typeof useModels>, 'models' | 'defaultModel' | 'name' | 'find'>,
  editor: Editor,
  lineages: LineageBook,
  /** Puts model `name` on show with `z` in the editor. */
  switchModel: (name: string, z?: number[]) => boolean,
  /** Shows the opened link in the share box (useShare's setLink). */
  setLink: (model: string, z: number[], contract: ZContract, lineage?: Lineage) => string,
  messages: Pick<Messages, 'showError' | 'clearError'>,
) {
  /** Restores z (and the model) from a share link's `hash`; false when there was none or it was bad. */
  function open(hash: string, initial: boolean): boolean {
    try {
      const state = parseShareHash(hash)
      if (!state) return false
      const name = state.model ?? models.defaultModel.value
      const info = models.find(name)
      if (!info) {
        const loaded = models.models.value.map((m) => m.name).join(', ')
        throw new Error(`it is for model "${name}", which this server does not have (loaded: ${loaded})`)
      }
      const z = decodeZ(state.code, info.z)
      const lineage = state.lineage ? readLineage(state.lineage) : undefined
      if (lineage) lineages.set({ model: name, z }, lineage)
      if (initial || name !== models.name.value) switchModel(name, z)
      else editor.setZ(z)
      setLink(name, z, info.z, lineage)
      if (!state.lineage || lineage) messages.clearError('link')
      return true
    } catch (error) {
      messages.showError(`This share link cannot be opened: ${errorMessage(error)}`, 'link')
      return false
    }
  }

  /** A link's lineage, or undefined (and a message) when it is damaged: the face opens without it. */
  function readLineage(code: string): Lineage | undefined {
    try {
      return decodeLineage(code)
    } catch (error) {
      messages.showError(`The face opened, without its lineage: ${errorMessage(error)}`, 'link')
      return undefined
    }
  }

  function onHashChange(): void {
    if (models.models.value.length) open(location.hash, false)
  }

  window.addEventListener('hashchange', onHashChange)
  onScopeDispose(() => window.removeEventListener('hashchange', onHashChange))

  return { open }
}
