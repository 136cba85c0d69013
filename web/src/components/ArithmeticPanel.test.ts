// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ArithmeticPanel from './ArithmeticPanel.vue'
import type { Face } from '../types'

const face = (v: number): Face => ({ model: 'm1', z: [v, v], src: `data:image/png;base64,F${v}` })

beforeEach(() => vi.useFakeTimers())
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('ArithmeticPanel', () => {
  it('asks once A, B and C are filled, and shows the result face', async () => {
    const fetch = vi.fn(async (_url: string, _init: RequestInit) =>
      new Response(JSON.stringify({ z: [0.5, 0.5], image: 'data:image/png;base64,R' }), { status: 200 }),
    )
    vi.stubGlobal('fetch', fetch)
    const w = mount(ArithmeticPanel, { props: { model: 'm1', current: face(1), lookup: () => undefined } })
    await w.find('[data-testid="arith-add-a"]').trigger('click')
    await w.find('[data-testid="arith-add-b"]').trigger('click')
    await vi.advanceTimersByTimeAsync(200)
    expect(fetch).not.toHaveBeenCalled() // C is empty
    await w.setProps({ current: face(0.5) })
    await w.find('[data-testid="arith-add-c"]').trigger('click')
    await vi.advanceTimersByTimeAsync(200)
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(JSON.parse(fetch.mock.calls[0][1].body as string)).toEqual({ model: 'm1', a: [[1, 1]], b: [[1, 1]], c: [[0.5, 0.5]] })
    expect(w.find('[data-testid="arith-result"]').attributes('src')).toBe('data:image/png;base64,R')
    await w.find('[data-testid="arith-load"]').trigger('click')
    expect(w.emitted('load')).toEqual([[{ model: 'm1', z: [0.5, 0.5], src: 'data:image/png;base64,R' }]])
    w.unmount()
  })
})
