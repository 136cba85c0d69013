import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ModelInfo, ModelsResponse } from '../types'
import { useModels } from './useModels'

const WEB = { url: 'models/b/generator.onnx', bytes: 1, sha256: '', input: 'z', output: 'image', range: [-1, 1] }
const A: ModelInfo = { name: 'a', z: { dim: 100, prior: 'uniform', low: -1, high: 1 }, image_size: 64, channels: 3 }
const B = { name: 'b', z: { dim: 64, prior: 'normal', low: -3, high: 3 }, image_size: 32, channels: 3, web: WEB } as ModelInfo

/** The server answers `server` (or nothing: null), the static site's models.json `site` (or nothing). */
function serve(server: ModelsResponse | null, site: ModelsResponse | null = null) {
  const fetch = vi.fn(async (url: string) => {
    const body = url === '/api/models' ? server : site
    return body ? new Response(JSON.stringify(body)) : new Response('{"detail": "Not Found"}', { status: 404 })
  })
  vi.stubGlobal('fetch', fetch)
  return fetch
}

function setup() {
  const messages = { showError: vi.fn(), clearError: vi.fn() }
  return { messages, models: useModels(messages) }
}

afterEach(() => vi.unstubAllGlobals())

describe('useModels', () => {
  it("takes the server's models and default, and finds the one on show", async () => {
    serve({ default: 'b', models: [A, B] })
    const { messages, models } = setup()
    expect(models.loading.value).toBe(true)
    expect(await models.load()).toBe(true)
    expect(models.loading.value).toBe(false)
    expect(models.defaultModel.value).toBe('b')
    expect(models.serverless.value).toBe(false)
    expect(models.online.value).toBe(true)
    expect(models.contracts.value).toEqual({ a: A.z, b: B.z })
    expect(models.model.value).toBeNull()
    models.name.value = 'b'
    expect(models.model.value).toEqual(B)
    expect(models.find('a')).toEqual(A)
    expect(models.find('c')).toBeUndefined()
    expect(messages.clearError).toHaveBeenCalledWith('models')
    expect(messages.showError).not.toHaveBeenCalled()
  })

  it('an unknown default falls back to the first model', async () => {
    serve({ default: 'gone', models: [A, B] })
    const { models } = setup()
    await models.load()
    expect(models.defaultModel.value).toBe('a')
  })

  it('without a server, models.json gives the models that run in the browser', async () => {
    const fetch = serve(null, { default: 'a', models: [A, B] })
    const { models } = setup()
    expect(await models.load()).toBe(true)
    expect(fetch.mock.calls.map(([url]) => url)).toEqual(['/api/models', 'models.json'])
    expect(models.serverless.value).toBe(true)
    expect(models.online.value).toBe(false)
    expect(models.models.value).toEqual([B])
    expect(models.defaultModel.value).toBe('b')
  })

  it('says why there is nothing to show', async () => {
    serve(null)
    let { messages, models } = setup()
    expect(await models.load()).toBe(false)
    expect(models.loading.value).toBe(false)
    expect(messages.showError).toHaveBeenCalledWith('Could not load the models: Server error 404 on /api/models: Not Found', 'models')

    serve({ default: '', models: [] })
    ;({ messages, models } = setup())
    expect(await models.load()).toBe(false)
    expect(messages.showError).toHaveBeenCalledWith('The server has no model loaded.', 'models')

    serve(null, { default: 'a', models: [A] })
    ;({ messages, models } = setup())
    expect(await models.load()).toBe(false)
    expect(messages.showError).toHaveBeenCalledWith('This page has no face model that runs in the browser.', 'models')
  })
})
