// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ref } from 'vue'
import { downloadScale, useDownload } from './useDownload'

afterEach(() => vi.unstubAllGlobals())

describe('useDownload', () => {
  it('upscales to at most 512 px by a whole factor of 1 to 8', () => {
    expect([16, 32, 64, 100, 128, 512, 1024].map(downloadScale)).toEqual([8, 8, 8, 5, 4, 1, 1])
  })

  it('asks the server for the upscaled face and saves it under a telling name', async () => {
    const fetch = vi.fn(async () => new Response(new Uint8Array([137, 80, 78, 71]), { headers: { 'Content-Type': 'image/png' } }))
    vi.stubGlobal('fetch', fetch)
    URL.createObjectURL = vi.fn(() => 'blob:face')
    URL.revokeObjectURL = vi.fn()
    const saved: string[] = []
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download)
    })
    const messages = { showError: vi.fn(), clearError: vi.fn() }
    const d = useDownload(ref(64), messages)
    d.resample.value = 'lanczos'
    expect(d.side.value).toBe(512)
    const done = d.download('m1', [0, 1])
    expect(d.downloading.value).toBe(true)
    await done
    expect(d.downloading.value).toBe(false)
    const body = JSON.parse((fetch.mock.calls[0] as unknown as [string, RequestInit])[1].body as string)
    expect(body).toEqual({ model: 'm1', z: [0, 1], scale: 8, resample: 'lanczos', format: 'png' })
    expect(saved).toEqual(['face-m1-512px.png'])
    expect(messages.showError).not.toHaveBeenCalled()
    click.mockRestore()
  })

  it('reports a failed download in the banner', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ detail: 'too big' }), { status: 422 })))
    const messages = { showError: vi.fn(), clearError: vi.fn() }
    const d = useDownload(ref(64), messages)
    await d.download('m1', [0])
    expect(messages.showError).toHaveBeenCalledWith('Download: Server error 422 on /api/generate: too big', 'download')
    expect(d.downloading.value).toBe(false)
  })
})
