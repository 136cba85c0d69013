// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import PhotoPanel from './PhotoPanel.vue'
import type { ZContract } from '../types'

const CONTRACT: ZContract = { dim: 3, prior: 'uniform', low: -1, high: 1 }
const Z = [0.25, -0.5, 1]
const FACES = {
  event: 'faces',
  faces: [
    { box: [10, 10, 40, 40], score: 0.99 },
    { box: [60, 10, 20, 20], score: 0.95 },
    { box: [80, 50, 10, 10], score: 0.9 },
  ],
  chosen: 0,
  crop: 'data:image/png;base64,CROP',
  photo_size: [100, 80],
}
const DONE = { event: 'done', z: Z, image: 'data:image/png;base64,FACE', crop: 'data:image/png;base64,CROP', scores: { psnr: 22.04, ssim: 0.7 }, seconds: 2 }
const line = (e: unknown) => `${JSON.stringify(e)}\n`

/** The fake server: each POST /api/invert gets a stream the test writes to. */
let sent: FormData[]
let streams: { push: (text: string) => void; end: () => void }[]
let refuse: { status: number; detail: string } | null

function fakeFetch(_url: string, init: RequestInit) {
  sent.push(init.body as FormData)
  if (refuse) return Promise.resolve(new Response(JSON.stringify({ detail: refuse.detail }), { status: refuse.status }))
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      streams.push({ push: (text) => c.enqueue(new TextEncoder().encode(text)), end: () => c.close() })
    },
  })
  return Promise.resolve(new Response(body, { headers: { 'Content-Type': 'application/x-ndjson' } }))
}

let wrapper: VueWrapper | null = null

beforeEach(() => {
  sent = []
  streams = []
  refuse = null
  vi.stubGlobal('fetch', vi.fn(fakeFetch))
  URL.createObjectURL = vi.fn(() => 'blob:photo')
  URL.revokeObjectURL = vi.fn()
})

afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

function mountPanel(model = 'm1'): VueWrapper {
  wrapper = mount(PhotoPanel, { props: { model, contract: CONTRACT }, attachTo: document.body })
  return wrapper
}

const photo = (name = 'me.jpg', type = 'image/jpeg') => new File([new Uint8Array([1, 2, 3])], name, { type })

async function pick(w: VueWrapper, file: File): Promise<void> {
  const input = w.find('[data-testid="photo-input"]')
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
  await input.trigger('change')
  await flushPromises()
}

describe('PhotoPanel', () => {
  it('uploads a picked photo, shows progress and the crop, then the face, and loads it', async () => {
    const w = mountPanel()
    expect(w.find('[data-testid="photo-privacy"]').text()).toBe('Your photo is processed in memory on the server and never stored.')
    expect(w.find('[data-testid="photo-input"]').attributes('accept')).toBe('image/*,.heic,.heif')
    await pick(w, photo())
    await vi.waitFor(() => expect(streams).toHaveLength(1))
    expect((sent[0].get('photo') as File).name).toBe('me.jpg')
    expect(sent[0].get('model')).toBe('m1')
    expect(sent[0].get('face')).toBeNull()
    expect(w.find('[data-testid="photo-progress"]').attributes('value')).toBeUndefined() // busy, amount unknown
    expect(w.find('[data-testid="photo-status"]').text()).toBe('Uploading the photo and looking for faces…')

    streams[0].push(line({ ...FACES, faces: FACES.faces.slice(0, 1) }) + line({ event: 'progress', step: 15, steps: 60 }))
    await vi.waitFor(() => expect(w.find('[data-testid="photo-crop"]').exists()).toBe(true))
    expect(w.find('[data-testid="photo-crop"]').attributes('src')).toBe(FACES.crop)
    await vi.waitFor(() => expect((w.find('[data-testid="photo-progress"]').element as HTMLProgressElement).value).toBe(0.25))
    expect(w.find('[data-testid="photo-status"]').text()).toBe('Fitting z: step 15 of 60')
    expect(w.find('[data-testid="photo-faces"]').exists()).toBe(false) // one face: nothing to choose
    expect(w.find('[data-testid="photo-result"]').exists()).toBe(false)
    expect(w.emitted('load')).toBeUndefined()

    streams[0].push(JSON.stringify(DONE))
    streams[0].end()
    await vi.waitFor(() => expect(w.find('[data-testid="photo-result"]').exists()).toBe(true))
    expect(w.find('[data-testid="photo-result"]').attributes('src')).toBe(DONE.image)
    expect(w.find('[data-testid="photo-scores"]').text()).toBe('PSNR 22.0 dB · SSIM 0.70 · 2.0 s')
    expect(w.find('[data-testid="photo-progress"]').exists()).toBe(false)
    expect(w.emitted('load')).toEqual([[{ model: 'm1', z: Z, src: DONE.image }]])
    await w.find('[data-testid="photo-load"]').trigger('click')
    expect(w.emitted('load')).toHaveLength(2)
    expect(w.emitted('error')).toBeUndefined()
  })

  it('offers the faces of a group photo and runs again with the one picked', async () => {
    const w = mountPanel()
    await pick(w, photo())
    await vi.waitFor(() => expect(streams).toHaveLength(1))
    streams[0].push(line(FACES) + line(DONE))
    await vi.waitFor(() => expect(w.find('[data-testid="photo-result"]').exists()).toBe(true))
    const faces = () => w.findAll('[data-testid="photo-face"]')
    expect(faces().map((f) => f.text())).toEqual(['Face 1 of 3', 'Face 2 of 3', 'Face 3 of 3'])
    expect(faces().map((f) => f.attributes('aria-pressed'))).toEqual(['true', 'false', 'false'])
    expect(w.find('.preview .box').attributes('style')).toContain('left: 10%')

    await faces()[2].trigger('click')
    await vi.waitFor(() => expect(streams).toHaveLength(2))
    expect(sent[1].get('face')).toBe('2')
    expect((sent[1].get('photo') as File).name).toBe('me.jpg') // the same photo again
    expect(faces().map((f) => f.attributes('aria-pressed'))).toEqual(['false', 'false', 'true']) // kept while it runs
    expect(w.find('[data-testid="photo-result"]').exists()).toBe(false)
    streams[1].push(line({ ...FACES, chosen: 2 }) + line({ ...DONE, z: [0, 0, 0] }))
    await vi.waitFor(() => expect(w.emitted('load')).toHaveLength(2))
    expect(w.emitted('load')![1]).toEqual([{ model: 'm1', z: [0, 0, 0], src: DONE.image }])
  })

  it('says what is wrong: not an image, a refused photo, an error in the stream, a z that does not fit', async () => {
    const w = mountPanel()
    await pick(w, photo('notes.txt', 'text/plain'))
    expect(sent).toHaveLength(0)
    expect(w.emitted('error')![0]).toEqual(['From a photo: “notes.txt” is not an image: choose a photo (JPEG, PNG, WebP, GIF or HEIC).'])

    refuse = { status: 422, detail: 'no face found in the photo' }
    await pick(w, photo())
    await vi.waitFor(() => expect(w.emitted('error')).toHaveLength(2))
    expect(w.emitted('error')![1]).toEqual(['From a photo: no face found in the photo'])
    expect(w.find('[data-testid="photo-progress"]').exists()).toBe(false)

    refuse = null
    await w.find('[data-testid="photo-again"]').trigger('click')
    await vi.waitFor(() => expect(streams).toHaveLength(1))
    streams[0].push(line(FACES) + line({ event: 'error', detail: 'the encoder failed' }))
    await vi.waitFor(() => expect(w.emitted('error')).toHaveLength(3))
    expect(w.emitted('error')![2]).toEqual(['From a photo: the encoder failed'])

    await w.find('[data-testid="photo-again"]').trigger('click')
    await vi.waitFor(() => expect(streams).toHaveLength(2))
    streams[1].push(line(FACES) + line({ ...DONE, z: [0, 0] }))
    await vi.waitFor(() => expect(w.emitted('error')).toHaveLength(4))
    expect(w.emitted('error')![3][0]).toContain('holds 2 numbers, but this model takes 3')
    expect(w.emitted('load')).toBeUndefined()
  })

  it('takes a photo dropped on the panel', async () => {
    const w = mountPanel()
    const panel = w.find('[data-testid="photo"]')
    await panel.trigger('dragover', { dataTransfer: { types: ['Files'], dropEffect: 'none' } })
    expect(panel.classes()).toContain('over')
    await panel.trigger('drop', { dataTransfer: { types: ['Files'], files: [photo('dropped.png', 'image/png')] } })
    expect(panel.classes()).not.toContain('over')
    await vi.waitFor(() => expect(sent).toHaveLength(1))
    expect((sent[0].get('photo') as File).name).toBe('dropped.png')
  })

  it('a new model stops the run and clears what was shown', async () => {
    const w = mountPanel()
    await pick(w, photo())
    await vi.waitFor(() => expect(streams).toHaveLength(1))
    streams[0].push(line(FACES))
    await vi.waitFor(() => expect(w.find('[data-testid="photo-crop"]').exists()).toBe(true))
    await w.setProps({ model: 'm2' })
    expect(w.find('[data-testid="photo-crop"]').exists()).toBe(false)
    expect(w.find('[data-testid="photo-progress"]').exists()).toBe(false)
    streams[0].push(line(DONE))
    await flushPromises()
    expect(w.emitted('load')).toBeUndefined()
    await w.find('[data-testid="photo-again"]').trigger('click')
    await vi.waitFor(() => expect(sent).toHaveLength(2))
    expect(sent[1].get('model')).toBe('m2')
  })

  describe('the camera', () => {
    afterEach(() => {
      delete (navigator as { mediaDevices?: unknown }).mediaDevices
    })

    it('without navigator.mediaDevices it is hidden, with a note', () => {
      const w = mountPanel()
      expect(w.find('[data-testid="photo-camera"]').exists()).toBe(false)
      expect(w.find('[data-testid="photo-no-camera"]').text()).toContain('HTTPS or localhost')
    })

    it('shows the live picture, takes a photo, sends it and turns the camera off', async () => {
      const tracks = [{ stop: vi.fn() }]
      const stream = { getTracks: () => tracks }
      const getUserMedia = vi.fn(async () => stream)
      Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia }, configurable: true })
      vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue({ drawImage: vi.fn() } as unknown as CanvasRenderingContext2D)
      vi.spyOn(HTMLCanvasElement.prototype, 'toBlob').mockImplementation((done) => done(new Blob(['jpeg'], { type: 'image/jpeg' })))

      const w = mountPanel()
      expect(w.find('[data-testid="photo-no-camera"]').exists()).toBe(false)
      await w.find('[data-testid="photo-camera"]').trigger('click')
      await flushPromises()
      const video = w.find('[data-testid="photo-video"]')
      expect((video.element as HTMLVideoElement & { srcObject: unknown }).srcObject).toBe(stream)
      expect(w.find('[data-testid="photo-camera"]').exists()).toBe(false)
      Object.defineProperty(video.element, 'videoWidth', { value: 640 })
      Object.defineProperty(video.element, 'videoHeight', { value: 480 })

      await w.find('[data-testid="photo-shoot"]').trigger('click')
      await vi.waitFor(() => expect(sent).toHaveLength(1))
      const sentPhoto = sent[0].get('photo') as File
      expect([sentPhoto.name, sentPhoto.type]).toEqual(['camera.jpg', 'image/jpeg'])
      expect(tracks[0].stop).toHaveBeenCalledTimes(1)
      expect(w.find('[data-testid="photo-video"]').exists()).toBe(false)
    })

    it('closing the camera, or leaving the page, turns it off', async () => {
      const tracks = [{ stop: vi.fn() }, { stop: vi.fn() }]
      Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia: async () => ({ getTracks: () => tracks }) }, configurable: true })
      const w = mountPanel()
      await w.find('[data-testid="photo-camera"]').trigger('click')
      await flushPromises()
      await w.find('[data-testid="photo-camera-close"]').trigger('click')
      expect(tracks.map((t) => t.stop.mock.calls.length)).toEqual([1, 1])
      expect(w.find('[data-testid="photo-video"]').exists()).toBe(false)

      await w.find('[data-testid="photo-camera"]').trigger('click')
      await flushPromises()
      w.unmount()
      wrapper = null
      expect(tracks.map((t) => t.stop.mock.calls.length)).toEqual([2, 2])
    })

    it('a refused camera is an error message', async () => {
      Object.defineProperty(navigator, 'mediaDevices', {
        value: { getUserMedia: async () => Promise.reject(new DOMException('no', 'NotAllowedError')) },
        configurable: true,
      })
      const w = mountPanel()
      await w.find('[data-testid="photo-camera"]').trigger('click')
      await flushPromises()
      expect(w.emitted('error')![0][0]).toBe('From a photo: Camera: the camera was not allowed (see the browser’s permission for this page).')
      expect(w.find('[data-testid="photo-video"]').exists()).toBe(false)
    })
  })
})
