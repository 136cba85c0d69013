// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ControlsPanel from './ControlsPanel.vue'
import type { Direction } from '../types'

const DIRECTIONS: Direction[] = [
  { name: 'Smiling', kind: 'attribute', label: 'Smiling', how: 'boundary', step: 1, description: '' },
]

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
      props: { model: 'm1', z: [0, 0], directions: DIRECTIONS, attributeNames: ['Smiling'] },
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
})
