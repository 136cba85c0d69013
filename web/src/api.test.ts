import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, api } from './api'

function respond(status: number, body: unknown, type = 'application/json'): Response {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  return new Response(text, { status, headers: { 'Content-Type': type } })
}

afterEach(() => vi.unstubAllGlobals())

describe('api', () => {
  it('posts JSON to relative /api URLs', async () => {
    const fetch = vi.fn(async () => respond(200, { z: [[0]], images: ['data:x'] }))
    vi.stubGlobal('fetch', fetch)
    await api.interpolate({ a: [0], b: [1], steps: 4, method: 'spherical', model: 'm' })
    expect(fetch).toHaveBeenCalledTimes(1)
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/interpolate')
    expect(init.method).toBe('POST')
    expect(JSON.parse(init.body as string)).toEqual({ a: [0], b: [1], steps: 4, method: 'spherical', model: 'm' })
  })

  it('asks for a png face and returns the bytes', async () => {
    const fetch = vi.fn(async () => new Response(new Uint8Array([137, 80, 78, 71]), { headers: { 'Content-Type': 'image/png' } }))
    vi.stubGlobal('fetch', fetch)
    const blob = await api.generatePng([0, 1], { model: 'm', scale: 8, resample: 'lanczos' })
    expect(blob.size).toBe(4)
    const init = (fetch.mock.calls[0] as unknown as [string, RequestInit])[1]
    expect(JSON.parse(init.body as string)).toEqual({ model: 'm', z: [0, 1], scale: 8, resample: 'lanczos', format: 'png' })
  })

  it('builds the random query', async () => {
    const fetch = vi.fn(async () => respond(200, { seed: 7, z: [0], image: 'data:' }))
    vi.stubGlobal('fetch', fetch)
    await api.random({ seed: 7, model: 'a b' })
    await api.random()
    await api.random({ truncation: 0.7 })
    expect(fetch.mock.calls.map((c) => (c as unknown as [string])[0])).toEqual([
      '/api/random?seed=7&model=a+b',
      '/api/random',
      '/api/random?truncation=0.7',
    ])
  })

  it('the named controls: directions by GET, the rest by POST with the body as given', async () => {
    const fetch = vi.fn(async () => respond(200, {}))
    vi.stubGlobal('fetch', fetch)
    await api.directions('celeba 64')
    await api.edit({ model: 'm', z: [0], moves: { Smiling: 1 }, hold: null })
    await api.attributes({ model: 'm', z: [0] })
    await api.sample({ model: 'm', constraints: { Male: false, Age: [30, 40] }, n: 8 })
    await api.children({ model: 'm', z: [0], n: 6, amount: 0.3, lock: true })
    await api.cross({ model: 'm', parents: [[0], [1]], n: 6 })
    const sent = fetch.mock.calls.map((c) => {
      const [url, init] = c as unknown as [string, RequestInit]
      return [url, init.method ?? 'GET', init.body ? JSON.parse(init.body as string) : null]
    })
    expect(sent).toEqual([
      ['/api/directions?model=celeba+64', 'GET', null],
      ['/api/edit', 'POST', { model: 'm', z: [0], moves: { Smiling: 1 }, hold: null }],
      ['/api/attributes', 'POST', { model: 'm', z: [0] }],
      ['/api/sample', 'POST', { model: 'm', constraints: { Male: false, Age: [30, 40] }, n: 8 }],
      ['/api/children', 'POST', { model: 'm', z: [0], n: 6, amount: 0.3, lock: true }],
      ['/api/cross', 'POST', { model: 'm', parents: [[0], [1]], n: 6 }],
    ])
  })

  it('turns {"detail": ...} errors into readable ApiErrors', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => respond(422, { detail: 'z must hold vectors of 100 numbers' })))
    const err = await api.models().catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(422)
    expect(err.message).toBe('Server error 422 on /api/models: z must hold vectors of 100 numbers')
  })

  it('handles non-JSON errors and network failures', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => respond(502, 'Bad gateway', 'text/plain')))
    await expect(api.health()).rejects.toThrow('Server error 502 on /api/health: Bad gateway')
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    await expect(api.health()).rejects.toThrow(/Cannot reach the face server \(Failed to fetch\)/)
  })

  it('passes aborts through untouched', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new DOMException('aborted', 'AbortError'))))
    await expect(api.health()).rejects.toMatchObject({ name: 'AbortError' })
  })
})
