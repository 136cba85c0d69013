// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ZGrid from './ZGrid.vue'
import type { ZContract } from '../types'

const uniform: ZContract = { dim: 100, prior: 'uniform', low: -1, high: 1 }

function make(z: number[], contract: ZContract = uniform, mode: 'paint' | 'select' = 'paint', selected: number[] = []) {
  return mount(ZGrid, { props: { z, contract, selected, mode }, attachTo: document.body })
}

function pointer(type: string, init: Record<string, unknown> = {}): Event {
  const e = new MouseEvent(type, { bubbles: true, cancelable: true, button: 0, ...init })
  Object.assign(e, { pointerId: 1, pointerType: 'mouse' })
  return e
}

describe('ZGrid', () => {
  it('shows one grey cell per z value with index and value', () => {
    const z = Array.from({ length: 100 }, (_, i) => (i % 3) - 1)
    const w = make(z)
    const cells = w.findAll('[data-testid="z-cell"]')
    expect(cells).toHaveLength(100)
    expect(cells[0].attributes('data-index')).toBe('0')
    expect(cells[0].attributes('data-value')).toBe('-1')
    expect(cells[0].attributes('style')).toContain('rgb(0, 0, 0)')
    expect(cells[2].attributes('style')).toContain('rgb(255, 255, 255)')
    expect(cells[1].attributes('aria-label')).toBe('z 1: 0.00 (grey 50%)')
    expect(w.find('[role="grid"]').attributes('style')).toContain('repeat(10, 1fr)')
    w.unmount()
  })

  it('adapts to other dims and hides the unused cells', () => {
    const normal: ZContract = { dim: 128, prior: 'normal', low: -3, high: 3 }
    const w = make(new Array(128).fill(3), normal)
    expect(w.findAll('[data-testid="z-cell"]')).toHaveLength(128)
    expect(w.findAll('[data-testid="z-cell-empty"]')).toHaveLength(4)
    expect(w.find('[role="grid"]').attributes('style')).toContain('repeat(12, 1fr)')
    expect(w.find('[data-testid="z-cell"]').attributes('style')).toContain('rgb(255, 255, 255)')
    w.unmount()
  })

  it('a drag is one stroke that visits every cell on the way once', async () => {
    const w = make(new Array(100).fill(0))
    const cells = w.findAll('[data-testid="z-cell"]')
    cells[0].element.dispatchEvent(pointer('pointerdown'))
    cells[3].element.dispatchEvent(pointer('pointermove'))
    cells[3].element.dispatchEvent(pointer('pointermove'))
    cells[13].element.dispatchEvent(pointer('pointermove'))
    cells[13].element.dispatchEvent(pointer('pointerup'))
    cells[20].element.dispatchEvent(pointer('pointermove')) // after release: ignored
    expect(w.emitted('stroke-start')).toHaveLength(1)
    expect(w.emitted('stroke-end')).toHaveLength(1)
    expect(w.emitted('paint')!.map((a) => a[0])).toEqual([0, 1, 2, 3, 13])
    w.unmount()
  })

  it('shift+click and select mode select instead of painting', () => {
    const w = make(new Array(100).fill(0), uniform, 'paint', [5])
    const cells = w.findAll('[data-testid="z-cell"]')
    cells[4].element.dispatchEvent(pointer('pointerdown', { shiftKey: true }))
    cells[5].element.dispatchEvent(pointer('pointermove'))
    cells[5].element.dispatchEvent(pointer('pointerup'))
    expect(w.emitted('select')).toEqual([
      [4, true],
      [5, true],
    ])
    expect(w.emitted('paint')).toBeUndefined()
    w.unmount()
  })

  it('works from the keyboard: arrows, +/-, Space paints, Shift+Space selects', async () => {
    const w = make(new Array(100).fill(0))
    const grid = w.find('[role="grid"]')
    await grid.trigger('keydown', { key: 'ArrowRight' })
    await grid.trigger('keydown', { key: 'ArrowDown' })
    expect(grid.attributes('aria-activedescendant')).toMatch(/-11$/)
    expect(w.findAll('[data-testid="z-cell"]')[11].classes()).toContain('cur')
    await grid.trigger('keydown', { key: '+' })
    await grid.trigger('keydown', { key: '=' })
    await grid.trigger('keydown', { key: '-' })
    await grid.trigger('keydown', { key: ' ' })
    await grid.trigger('keydown', { key: 'Enter' })
    await grid.trigger('keydown', { key: ' ', shiftKey: true })
    expect(w.emitted('nudge')).toEqual([
      [11, 8],
      [11, 8],
      [11, -8],
    ])
    expect(w.emitted('paint')).toEqual([[11], [11]])
    expect(w.emitted('stroke-start')).toHaveLength(2)
    expect(w.emitted('stroke-end')).toHaveLength(2)
    expect(w.emitted('select')).toEqual([[11, true]])
    w.unmount()
  })

  it('the wheel nudges the square under the pointer', async () => {
    const w = make(new Array(100).fill(0))
    await w.findAll('[data-testid="z-cell"]')[7].trigger('wheel', { deltaY: -100 })
    await w.findAll('[data-testid="z-cell"]')[7].trigger('wheel', { deltaY: 100 })
    expect(w.emitted('wheel-nudge')).toEqual([
      [7, 8],
      [7, -8],
    ])
    w.unmount()
  })
})
