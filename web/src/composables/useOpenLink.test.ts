// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { effectScope, reactive } from 'vue'
import type { ModelInfo } from '../types'
import { LineageBook, childLineage } from '../breeding'
import { Editor } from '../editor'
import { buildShareHash } from '../share'
import { useModels } from './useModels'
import { useOpenLink } from './useOpenLink'

const M: ModelInfo = { name: 'm', z: { dim: 2, prior: 'uniform', low: -1, high: 1 }, image_size: 64, channels: 3 }
const N: ModelInfo = { name: 'n b', z: { dim: 3, prior: 'normal', low: -3, high: 3 }, image_size: 64, channels: 3 }

function setup() {
  const messages = { showError: vi.fn(), clearError: vi.fn() }
  const models = useModels(messages)
  models.models.value = [M, N]
  models.defaultModel.value = 'm'
  const editor = reactive(new Editor(M.z)) as Editor
  const lineages = new LineageBook()
  const switchModel = vi.fn((name: string, z?: number[]) => {
    models.name.value = name
    editor.reset(models.find(name)!.z, z)
    return true
  })
  const setLink = vi.fn(() => 'link')
  const scope = effectScope()
  const link = scope.run(() => useOpenLink(models, editor, lineages, switchModel, setLink, messages))!
  return { messages, models, editor, lineages, switchModel, setLink, scope, link }
}

afterEach(() => window.history.replaceState(null, '', '/'))

describe('useOpenLink', () => {
  it("opens a link's model and z, and shows the link in the share box", () => {
    const { messages, models, editor, switchModel, setLink, scope, link } = setup()
    expect(link.open('', true)).toBe(false)
    expect(link.open(`#${buildShareHash('n b', [0.5, -3, 3], N.z)}`, true)).toBe(true)
    expect(switchModel).toHaveBeenCalledWith('n b', [0.5, -3, 3])
    expect(models.name.value).toBe('n b')
    expect(setLink).toHaveBeenCalledWith('n b', [0.5, -3, 3], N.z, undefined)
    expect(messages.clearError).toHaveBeenCalledWith('link')
    // the model on show already: z changes as one undo step
    expect(link.open(buildShareHash('n b', [0, 0, 1], N.z), false)).toBe(true)
    expect(switchModel).toHaveBeenCalledTimes(1)
    expect(editor.z).toEqual([0, 0, 1])
    expect(editor.canUndo).toBe(true)
    // no model in the link: the default one
    expect(link.open('#z=' + buildShareHash('m', [1, 1], M.z).split('&z=')[1], false)).toBe(true)
    expect(models.name.value).toBe('m')
    scope.stop()
  })

  it('says why a link cannot be opened; a damaged lineage opens the face without it', () => {
    const { messages, models, lineages, scope, link } = setup()
    expect(link.open(`#${buildShareHash('gone', [0, 0], M.z)}`, true)).toBe(false)
    expect(messages.showError).toHaveBeenLastCalledWith(
      'This share link cannot be opened: it is for model "gone", which this server does not have (loaded: m, n b)',
      'link',
    )
    expect(link.open('#m=m&z=', true)).toBe(false)
    expect(messages.showError).toHaveBeenLastCalledWith('This share link cannot be opened: the link is damaged: z is empty', 'link')

    const lineage = childLineage({ id: 'abc' }, 0.3, false)
    expect(link.open(`#${buildShareHash('m', [0.5, 0.5], M.z, lineage)}`, true)).toBe(true)
    expect(lineages.get({ model: 'm', z: [0.5, 0.5] })).toEqual(lineage)
    messages.clearError.mockClear()
    expect(link.open(`#${buildShareHash('m', [1, 0.5], M.z)}&l=j1.oops`, false)).toBe(true)
    expect(messages.showError).toHaveBeenLastCalledWith(expect.stringMatching(/^The face opened, without its lineage: /), 'link')
    expect(messages.clearError).not.toHaveBeenCalled()
    expect(models.name.value).toBe('m')
    scope.stop()
  })

  it('follows hashchange once the models are in, until disposed', () => {
    const { models, editor, scope } = setup()
    models.name.value = 'm'
    window.history.replaceState(null, '', `/#${buildShareHash('m', [1, -1], M.z)}`)
    window.dispatchEvent(new Event('hashchange'))
    expect(editor.z).toEqual([1, -1])
    scope.stop()
    window.history.replaceState(null, '', `/#${buildShareHash('m', [0.5, 0.5], M.z)}`)
    window.dispatchEvent(new Event('hashchange'))
    expect(editor.z).toEqual([1, -1])
  })

  it('ignores hashchange before the models are in', () => {
    const { models, editor, switchModel, scope } = setup()
    models.models.value = []
    window.history.replaceState(null, '', `/#${buildShareHash('m', [1, -1], M.z)}`)
    window.dispatchEvent(new Event('hashchange'))
    expect(switchModel).not.toHaveBeenCalled()
    expect(editor.z).toEqual([0, 0])
    scope.stop()
  })
})
