// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { reactive } from 'vue'
import { Editor } from '../editor'
import { STEPS } from '../zmap'
import ZEditor from './ZEditor.vue'

const CONTRACT = { dim: 4, prior: 'uniform', low: -1, high: 1 }

function make(desktopHints = true) {
  const editor = reactive(new Editor(CONTRACT)) as Editor
  const w = mount(ZEditor, {
    props: {
      editor,
      desktopHints,
      greyLevel: STEPS / 2,
      mode: 'paint' as const,
      'onUpdate:greyLevel': (level: number) => w.setProps({ greyLevel: level }),
      'onUpdate:mode': (mode: 'paint' | 'select') => w.setProps({ mode }),
    },
    attachTo: document.body,
  })
  return { editor, w }
}

describe('ZEditor', () => {
  it('paints with the grey picked in the palette', async () => {
    const { editor, w } = make()
    expect(w.find('[data-testid="mapping"]').text()).toContain('one of the 4 numbers of z')
    expect(w.find('[data-testid="paint-value"]').text()).toBe('z = 0.00')
    await w.findAll('[data-testid="swatch"]').at(-1)!.trigger('click') // white
    expect(w.emitted('update:greyLevel')).toEqual([[STEPS]])
    expect(w.find('[data-testid="paint-value"]').text()).toBe('z = 1.00')
    expect(w.findAll('[data-testid="swatch"]').at(-1)!.attributes('aria-pressed')).toBe('true')
    const cell = w.findAll('[data-testid="z-cell"]')[2].element
    for (const type of ['pointerdown', 'pointerup']) {
      const e = new MouseEvent(type, { bubbles: true, cancelable: true, button: 0 })
      cell.dispatchEvent(Object.assign(e, { pointerId: 1, pointerType: 'mouse' }))
    }
    expect(editor.z).toEqual([0, 0, 1, 0])
    expect(w.emitted('stroke-end')).toHaveLength(1) // the page puts the face into the history
    w.unmount()
  })

  it('selects squares, all of them, and randomizes only those', async () => {
    const { editor, w } = make()
    await w.find('[data-testid="select-mode"]').trigger('click')
    expect(w.emitted('update:mode')).toEqual([['select']])
    expect(w.find('[data-testid="select-mode"]').text()).toBe('Done selecting')
    expect(w.find('[data-testid="randomize-selected"]').attributes('disabled')).toBeDefined()
    await w.find('[data-testid="select-all"]').trigger('click')
    expect(editor.selected).toEqual([0, 1, 2, 3])
    expect(w.find('[data-testid="randomize-selected"]').text()).toBe('Randomize 4 selected')
    await w.find('[data-testid="clear-selection"]').trigger('click')
    expect(editor.selected).toEqual([])
    w.unmount()
  })

  it('passes wheel nudges on to the page and shows the hints for the screen', async () => {
    const { w } = make()
    expect(w.find('[data-testid="desktop-help"]').exists()).toBe(true)
    w.findAll('[data-testid="z-cell"]')[1].element.dispatchEvent(new WheelEvent('wheel', { deltaY: -100, bubbles: true, cancelable: true }))
    expect(w.emitted('wheel-nudge')?.[0]?.[0]).toBe(1)
    w.unmount()
    const touch = make(false).w
    expect(touch.find('[data-testid="touch-help"]').exists()).toBe(true)
    expect(touch.find('[data-testid="desktop-help"]').exists()).toBe(false)
    touch.unmount()
  })
})
