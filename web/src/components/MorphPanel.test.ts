// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import MorphPanel from './MorphPanel.vue'
import type { Face } from '../types'

const face = (v: number): Face => ({ model: 'm1', z: [v, v], src: `data:image/png;base64,F${v}` })

function respond(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

afterEach(() => vi.unstubAllGlobals())

describe('MorphPanel', () => {
  it('morphs from A to B and loads a frame into the editor', async () => {
    const fetch = vi.fn(async (_url: string, init: RequestInit) => {
      const body = JSON.parse(init.body as string)
      const z = [body.a, body.b]
      return respond(200, { z, images: ['data:image/png;base64,A', 'data:image/png;base64,B'] })
    })
    vi.stubGlobal('fetch', fetch)
    const w = mount(MorphPanel, { props: { model: 'm1', current: face(-1), lookup: () => undefined } })
    await w.find('[data-testid="morph-a-current"]').trigger('click')
    await w.setProps({ current: face(1) })
    await w.find('[data-testid="morph-b-current"]').trigger('click')
    await flushPromises()
    expect(JSON.parse(fetch.mock.calls.at(-1)![1].body as string)).toMatchObject({ a: [-1, -1], b: [1, 1], model: 'm1' })
    expect(w.find('[data-testid="morph-frame"]').attributes('src')).toBe('data:image/png;base64,A')
    await w.find('[data-testid="morph-slider"]').setValue(1)
    await w.find('[data-testid="morph-load"]').trigger('click')
    expect(w.emitted('load')).toEqual([[{ model: 'm1', z: [1, 1], src: 'data:image/png;base64,B' }]])
    w.unmount()
  })

  it('reports a server error once, and refuses a face of another model', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => respond(500, { detail: 'boom' })))
    const w = mount(MorphPanel, { props: { model: 'm1', current: face(0), lookup: () => undefined } })
    await w.find('[data-testid="morph-a-current"]').trigger('click')
    await w.find('[data-testid="morph-b-current"]').trigger('click')
    await flushPromises()
    expect(w.emitted('error')).toEqual([['Morph: Server error 500 on /api/interpolate: boom']])
    expect(w.find('[data-testid="morph-frame"]').exists()).toBe(false)
    await w.setProps({ current: { ...face(0), model: 'm2' } })
    await w.find('[data-testid="morph-a-current"]').trigger('click')
    expect(w.emitted('error')!.at(-1)![0]).toContain('made with model m2')
    w.unmount()
  })
})
