// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ControlsPanel from './ControlsPanel.vue'
import type { Direction, LinearDirection, ZContract } from '../types'

const DIRECTIONS: Direction[] = [
  { name: 'Smiling', kind: 'attribute', label: 'Smiling', how: 'boundary', step: 1, description: '' },
]

const CONTRACT: ZContract = { dim: 2, prior: 'uniform', low: -1, high: 1 }

afterEach(() => vi.unstubAllGlobals())

describe('ControlsPanel', () => {
  it('a release before the last answer ends the drag once that answer is in', async () => {
    const answers: ((z: number[]) => void)[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        if (url === '/api/attributes') return new Response(JSON.stringify({ attributes: { Smiling: 0.2 } }))
        const z = await new Promise<number[]>((resolve) => answers.push(resolve))
        const body = { z, image: 'data:image/png;base64,E', clipped: 0, saturated: 0, attributes: { Smiling: 0.8 } }
        return new Response(JSON.stringify(body))
      }),
    )
    const w = mount(ControlsPanel, {
      props: { model: 'm1', z: [0, 0], directions: DIRECTIONS, attributeNames: ['Smiling'], contract: CONTRACT },
    })
    const slider = w.find('[data-testid="slider-Smiling"]')
    ;(slider.element as HTMLInputElement).value = '1.5'
    await slider.trigger('input')
    await vi.waitFor(() => expect(answers).toHaveLength(1))
    await slider.trigger('change') // released while the edit is on its way
    expect(w.emitted('end')).toBeUndefined()
    answers[0]([0.3, 0])
    await vi.waitFor(() => expect(w.emitted('end')).toHaveLength(1))
    expect(w.emitted('begin')).toHaveLength(1)
    expect(w.emitted('face')).toEqual([[{ model: 'm1', z: [0.3, 0], src: 'data:image/png;base64,E' }]])
    await new Promise((resolve) => setTimeout(resolve, 400)) // past the first reading's delay: the drag stopped it
    expect(w.find('[data-testid="attr-Smiling"]').text()).toContain('80%')
    expect(vi.mocked(fetch).mock.calls.filter(([url]) => url === '/api/attributes')).toHaveLength(0)
    w.unmount()
  })

  it('linear: moves z in the page along the vectors, inside the box, and asks the server nothing', async () => {
    vi.stubGlobal('fetch', vi.fn())
    const directions: LinearDirection[] = [
      { ...DIRECTIONS[0], step: 0.5, vector: [1, 0] },
      { name: 'Male', kind: 'attribute', label: 'Male', how: '', step: 1, description: '', vector: [0, 1] },
    ]
    const w = mount(ControlsPanel, {
      props: { model: 'm1', z: [0.2, 0.1], directions, attributeNames: ['Smiling', 'Male'], linear: true, contract: CONTRACT },
    })
    const slider = w.find('[data-testid="slider-Smiling"]')
    ;(slider.element as HTMLInputElement).value = '1'
    await slider.trigger('input')
    expect(w.emitted('z')![0][0]).toEqual([0.7, 0.1].map(Math.fround)) // one step of 0.5; Male held
    ;(slider.element as HTMLInputElement).value = '3'
    await slider.trigger('input')
    expect(w.emitted('z')![1][0]).toEqual([1, 0.1].map(Math.fround)) // the box stops it at 1, and the page says so
    expect(w.find('[data-testid="slider-clipped"]').text()).toContain('Reached 53%')
    await slider.trigger('change')
    expect(w.emitted('end')).toHaveLength(1)
    expect(w.find('[data-testid="slider-linear"]').exists()).toBe(true)
    expect(w.find('[data-testid="attributes"]').exists()).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(fetch).not.toHaveBeenCalled()
    w.unmount()
  })
})
