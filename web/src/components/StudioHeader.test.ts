// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import type { ModelInfo } from '../types'
import StudioHeader from './StudioHeader.vue'

const A: ModelInfo = { name: 'a', z: { dim: 100, prior: 'uniform', low: -1, high: 1 }, image_size: 64, channels: 3 }
const B: ModelInfo = { name: 'b', z: { dim: 64, prior: 'normal', low: -3, high: 3 }, image_size: 64, channels: 3 }
const SERVER = { engineState: { state: 'off' as const }, engineName: 'server' as const, engineLabel: 'Server' }

describe('StudioHeader', () => {
  it('offers the models to pick from, and says who makes the faces', async () => {
    const w = mount(StudioHeader, { props: { models: [A, B], modelName: 'b', model: B, ...SERVER } })
    const picker = w.find<HTMLSelectElement>('[data-testid="model-picker"]')
    expect(picker.findAll('option').map((o) => o.text())).toEqual(['a (z: 100, uniform)', 'b (z: 64, normal)'])
    expect(picker.element.value).toBe('b')
    await picker.setValue('a')
    expect(w.emitted('pick')).toEqual([['a']])
    const engine = w.find('[data-testid="engine"]')
    expect(engine.text()).toBe('Server')
    expect(engine.attributes()).toMatchObject({ 'data-engine': 'server', 'data-state': 'off', title: 'Faces are made by the face server' })
    await w.setProps({
      engineState: { state: 'ready', backend: 'wasm', msPerFace: 9 },
      engineName: 'local-wasm',
      engineLabel: 'Local · wasm · 9 ms/face',
    })
    expect(engine.classes()).toEqual(['engine', 'ready'])
    expect(engine.attributes('title')).toBe('Faces are made in this browser')
  })

  it('names the only model; shows neither before there is one', async () => {
    const w = mount(StudioHeader, { props: { models: [A], modelName: 'a', model: A, ...SERVER } })
    expect(w.find('[data-testid="model-picker"]').exists()).toBe(false)
    expect(w.find('[data-testid="model-name"]').text()).toBe('model a')
    await w.setProps({ models: [], modelName: '', model: null })
    expect(w.find('[data-testid="model-name"]').exists()).toBe(false)
    expect(w.find('[data-testid="engine"]').exists()).toBe(false)
    expect(w.find('h1').text()).toBe('DCGAN face studio')
  })
})
