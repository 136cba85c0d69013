import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from './api'
import {
  PHOTO_MAX_BYTES,
  PhotoError,
  applyEvent,
  cameraSupported,
  captureFrame,
  checkPhoto,
  faceChoices,
  invertPhoto,
  ndjsonLines,
  openCamera,
  progressFraction,
  scoresText,
  startView,
  stopCamera,
  workingText,
} from './photo'
import type { DoneEvent, FacesEvent, InvertEvent, ZContract } from './types'

const CONTRACT: ZContract = { dim: 4, prior: 'uniform', low: -1, high: 1 }
const FACES: FacesEvent = {
  event: 'faces',
  faces: [
    { box: [100, 50, 200, 250], score: 0.99 },
    { box: [500, 80, 100, 120], score: 0.9 },
  ],
  chosen: 0,
  crop: 'data:image/png;base64,CROP',
  photo_size: [800, 600],
}
const DONE: DoneEvent = {
  event: 'done',
  z: [0.5, -0.25, 1, -1],
  image: 'data:image/png;base64,FACE',
  crop: 'data:image/png;base64,CROP',
  scores: { psnr: 24.14, ssim: 0.771 },
  seconds: 1.42,
}

const line = (e: unknown) => `${JSON.stringify(e)}\n`

/** A byte stream delivering `chunks` one read at a time. */
function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const queue = chunks.map((c) => (typeof c === 'string' ? encoder.encode(c) : c))
  return new ReadableStream({
    pull(controller) {
      const next = queue.shift()
      if (next) controller.enqueue(next)
      else controller.close()
    },
  })
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const lines: string[] = []
  for await (const l of ndjsonLines(stream)) lines.push(l)
  return lines
}

/** Splits `text` into pieces of `size` characters (so lines break across chunks). */
function pieces(text: string, size: number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

function streaming(chunks: (string | Uint8Array)[]) {
  return vi.fn(async (_url: string, _init?: RequestInit) =>
    new Response(streamOf(chunks), { headers: { 'Content-Type': 'application/x-ndjson' } }),
  )
}

const photo = (name = 'me.jpg', type = 'image/jpeg') => new File([new Uint8Array([0xff, 0xd8, 0xff])], name, { type })

afterEach(() => vi.unstubAllGlobals())

describe('checkPhoto', () => {
  it('takes images, and HEIC files by name when the browser gives them no type', () => {
    expect(() => checkPhoto(photo())).not.toThrow()
    expect(() => checkPhoto(photo('IMG_0001.HEIC', ''))).not.toThrow()
    expect(() => checkPhoto(new Blob([new Uint8Array(3)], { type: 'image/png' }))).not.toThrow()
  })

  it('says what is wrong with anything else', () => {
    expect(() => checkPhoto(photo('notes.txt', 'text/plain'))).toThrow('“notes.txt” is not an image: choose a photo (JPEG, PNG, WebP, GIF or HEIC).')
    expect(() => checkPhoto(photo('photo', ''))).toThrow(PhotoError)
    expect(() => checkPhoto(new File([], 'empty.png', { type: 'image/png' }))).toThrow('“empty.png” is empty.')
    const sized = (size: number) => ({ name: 'big.jpg', type: 'image/jpeg', size }) as unknown as Blob
    expect(() => checkPhoto(sized(PHOTO_MAX_BYTES))).not.toThrow()
    expect(() => checkPhoto(sized(PHOTO_MAX_BYTES + 1))).toThrow('“big.jpg” is 20.0 MB; photos up to 20 MB can be used.')
    expect(() => checkPhoto(sized(31.4 * 2 ** 20))).toThrow('is 31.4 MB')
  })
})

describe('ndjsonLines', () => {
  it('joins lines split across chunks, keeps a last line without newline, skips blank lines', async () => {
    const text = '{"a":1}\n\n{"b":"two"}\r\n{"c":3}'
    for (const size of [1, 2, 5, text.length]) {
      expect(await collect(streamOf(pieces(text, size)))).toEqual(['{"a":1}', '{"b":"two"}', '{"c":3}'])
    }
  })

  it('decodes a character whose bytes are split across chunks', async () => {
    const bytes = new TextEncoder().encode('{"d":"é✓"}\n')
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]))
    expect(await collect(streamOf(chunks))).toEqual(['{"d":"é✓"}'])
  })
})

describe('invertPhoto', () => {
  it('posts the photo, model and face as a form and reports each event as it comes', async () => {
    const text = line(FACES) + line({ event: 'progress', step: 10, steps: 60 }) + line({ event: 'progress', step: 60, steps: 60 }) + JSON.stringify(DONE)
    const fetch = streaming(pieces(text, 7))
    vi.stubGlobal('fetch', fetch)
    const events: InvertEvent[] = []
    const done = await invertPhoto(photo(), { model: 'm1', face: 1, contract: CONTRACT, onEvent: (e) => events.push(e) })
    expect(done).toEqual(DONE)
    expect(events.map((e) => e.event)).toEqual(['faces', 'progress', 'progress', 'done'])
    expect(events[0]).toEqual(FACES)

    const [url, init] = fetch.mock.calls[0]
    expect(url).toBe('/api/invert')
    expect(init!.method).toBe('POST')
    const form = init!.body as FormData
    expect((form.get('photo') as File).name).toBe('me.jpg')
    expect(form.get('model')).toBe('m1')
    expect(form.get('face')).toBe('1')
  })

  it('leaves out model and face when not given, and names a camera frame', async () => {
    const fetch = streaming([line(FACES), line(DONE)])
    vi.stubGlobal('fetch', fetch)
    await invertPhoto(new Blob([new Uint8Array(3)], { type: 'image/jpeg' }), { onEvent: () => undefined })
    const form = fetch.mock.calls[0][1]!.body as FormData
    expect([...form.keys()]).toEqual(['photo'])
    expect((form.get('photo') as File).name).toBe('camera.jpg')
  })

  it('an "error" line becomes a readable error, after the events before it', async () => {
    vi.stubGlobal('fetch', streaming([line(FACES), '{"event": "error", "det', 'ail": "the fit did not converge"}\n']))
    const events: string[] = []
    const err = await invertPhoto(photo(), { onEvent: (e) => events.push(e.event) }).catch((e) => e)
    expect(err).toBeInstanceOf(PhotoError)
    expect(err.message).toBe('the fit did not converge')
    expect(events).toEqual(['faces'])
  })

  it('photos refused before the stream give the server’s detail', async () => {
    const refuse = (status: number, body: string, type = 'application/json') =>
      vi.fn(async () => new Response(body, { status, headers: { 'Content-Type': type } }))
    const onEvent = vi.fn()

    vi.stubGlobal('fetch', refuse(422, JSON.stringify({ detail: 'no face found in the photo' })))
    const err = await invertPhoto(photo(), { onEvent }).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(422)
    expect(err.message).toBe('no face found in the photo')

    vi.stubGlobal('fetch', refuse(404, JSON.stringify({ detail: 'model m2 has no encoder' })))
    await expect(invertPhoto(photo(), { onEvent })).rejects.toThrow(/^model m2 has no encoder$/)
    vi.stubGlobal('fetch', refuse(413, '<html>413 Request Entity Too Large</html>', 'text/html'))
    await expect(invertPhoto(photo(), { onEvent })).rejects.toThrow('The photo is too large for the server (photos up to 20 MB).')
    vi.stubGlobal('fetch', refuse(500, 'Internal Server Error', 'text/plain'))
    await expect(invertPhoto(photo(), { onEvent })).rejects.toThrow('Server error 500: Internal Server Error')
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    await expect(invertPhoto(photo(), { onEvent })).rejects.toThrow(/Cannot reach the face server \(Failed to fetch\)/)
    expect(onEvent).not.toHaveBeenCalled()
  })

  it('checks the file before sending it', async () => {
    const fetch = vi.fn()
    vi.stubGlobal('fetch', fetch)
    await expect(invertPhoto(photo('a.pdf', 'application/pdf'), { onEvent: () => undefined })).rejects.toThrow('is not an image')
    expect(fetch).not.toHaveBeenCalled()
  })

  it('an answer that ends early, or cannot be read, is an error', async () => {
    vi.stubGlobal('fetch', streaming([line(FACES), line({ event: 'progress', step: 1, steps: 60 })]))
    await expect(invertPhoto(photo(), { onEvent: () => undefined })).rejects.toThrow('The server stopped before the face was done.')
    vi.stubGlobal('fetch', streaming(['<!doctype html>\n']))
    await expect(invertPhoto(photo(), { onEvent: () => undefined })).rejects.toThrow(/could not be read \(not JSON: <!doctype html>\)/)
    vi.stubGlobal('fetch', streaming([line({ event: 'done', image: 'data:' })]))
    await expect(invertPhoto(photo(), { onEvent: () => undefined })).rejects.toThrow(/bad "done" line/)
  })

  it('skips events it does not know', async () => {
    vi.stubGlobal('fetch', streaming([line({ event: 'aligned', ms: 3 }), line(FACES), line(DONE)]))
    const events: string[] = []
    await invertPhoto(photo(), { onEvent: (e) => events.push(e.event) })
    expect(events).toEqual(['faces', 'done'])
  })

  it('the z found must fit the model’s contract', async () => {
    vi.stubGlobal('fetch', streaming([line(FACES), line({ ...DONE, z: [0, 0, 0] })]))
    await expect(invertPhoto(photo(), { contract: CONTRACT, onEvent: () => undefined })).rejects.toThrow(
      "The server's z for the photo holds 3 numbers, but this model takes 4.",
    )
    const onEvent = vi.fn()
    vi.stubGlobal('fetch', streaming([line({ ...DONE, z: [0, 1.5, 0, 0] })]))
    await expect(invertPhoto(photo(), { contract: CONTRACT, onEvent })).rejects.toThrow("z[1] = 1.5, outside the model's range [-1, 1]")
    expect(onEvent).not.toHaveBeenCalled()
    vi.stubGlobal('fetch', streaming([line({ ...DONE, z: [0, 1.5, 0, 0] })])) // without a contract it is not checked
    await expect(invertPhoto(photo(), { onEvent })).resolves.toMatchObject({ z: [0, 1.5, 0, 0] })
  })

  it('after an abort no event is reported and the call rejects with the AbortError', async () => {
    const controller = new AbortController()
    let push!: (text: string) => void
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        push = (text) => c.enqueue(new TextEncoder().encode(text))
      },
    })
    vi.stubGlobal('fetch', vi.fn(async () => new Response(body)))
    const events: string[] = []
    const running = invertPhoto(photo(), { signal: controller.signal, onEvent: (e) => events.push(e.event) })
    push(line(FACES))
    await vi.waitFor(() => expect(events).toEqual(['faces']))
    controller.abort()
    push(line(DONE))
    await expect(running).rejects.toMatchObject({ name: 'AbortError' })
    expect(events).toEqual(['faces'])
  })
})

describe('the panel’s view of a run', () => {
  it('follows the events: faces, progress, done', () => {
    let view = startView()
    expect(progressFraction(view)).toBeNull()
    expect(workingText(view)).toBe('Uploading the photo and looking for faces…')
    view = applyEvent(view, FACES)
    expect(view).toMatchObject({ chosen: 0, crop: FACES.crop, photoSize: [800, 600] })
    expect(workingText(view)).toBe('Found the face; fitting z…')
    view = applyEvent(view, { event: 'progress', step: 15, steps: 60 })
    expect(progressFraction(view)).toBe(0.25)
    expect(workingText(view)).toBe('Fitting z: step 15 of 60')
    view = applyEvent(view, { ...DONE, crop: 'data:image/png;base64,ALIGNED' })
    expect(view.done?.z).toEqual(DONE.z)
    expect(view.crop).toBe('data:image/png;base64,ALIGNED')
    expect(progressFraction(view)).toBe(1)
    expect(scoresText(DONE)).toBe('PSNR 24.1 dB · SSIM 0.77 · 1.4 s')
  })

  it('offers each face found, with its box on the preview in percent', () => {
    const view = applyEvent(startView(), { ...FACES, chosen: 1 })
    expect(faceChoices(view)).toEqual([
      { index: 0, label: 'Face 1 of 2', chosen: false, place: { left: '12.50%', top: '8.33%', width: '25.00%', height: '41.67%' } },
      { index: 1, label: 'Face 2 of 2', chosen: true, place: { left: '62.50%', top: '13.33%', width: '12.50%', height: '20.00%' } },
    ])
    const unsized = applyEvent(startView(), { ...FACES, photo_size: [0, 0] })
    expect(faceChoices(unsized).map((c) => c.place)).toEqual([null, null])
  })

  it('a re-run with another face keeps the faces and marks the new one; a new photo starts empty', () => {
    const before = applyEvent(applyEvent(startView(), FACES), DONE)
    const again = startView(before, 1)
    expect(again.faces).toEqual(FACES.faces)
    expect(again.chosen).toBe(1)
    expect(again.crop).toBeNull()
    expect(again.done).toBeNull()
    expect(startView(before).faces).toEqual([])
    expect(startView(before, 5).faces).toEqual([]) // no such face
  })
})

describe('the camera', () => {
  it('is there only with navigator.mediaDevices.getUserMedia', () => {
    expect(cameraSupported(undefined)).toBe(false)
    expect(cameraSupported({} as Navigator)).toBe(false)
    expect(cameraSupported({ mediaDevices: { getUserMedia: async () => ({}) } } as unknown as Navigator)).toBe(true)
  })

  it('asks for the front camera, and says why there is none', async () => {
    const getUserMedia = vi.fn(async () => ({ id: 's' }))
    const nav = { mediaDevices: { getUserMedia } } as unknown as Navigator
    await expect(openCamera(nav)).resolves.toEqual({ id: 's' })
    expect(getUserMedia).toHaveBeenCalledWith({ video: { facingMode: 'user' }, audio: false })
    getUserMedia.mockRejectedValueOnce(new DOMException('denied', 'NotAllowedError'))
    await expect(openCamera(nav)).rejects.toThrow('Camera: the camera was not allowed')
    await expect(openCamera({} as Navigator)).rejects.toThrow('it needs HTTPS or localhost')
  })

  it('stops every track', () => {
    const tracks = [{ stop: vi.fn() }, { stop: vi.fn() }]
    stopCamera({ getTracks: () => tracks } as unknown as MediaStream)
    stopCamera(null)
    expect(tracks.every((t) => t.stop.mock.calls.length === 1)).toBe(true)
  })

  it('takes a frame at the video’s size as a JPEG', async () => {
    const jpeg = new Blob(['jpeg'], { type: 'image/jpeg' })
    const drawImage = vi.fn()
    const canvas = {
      width: 0,
      height: 0,
      getContext: () => ({ drawImage }),
      toBlob: vi.fn((done: (b: Blob | null) => void) => done(jpeg)),
    }
    const video = { videoWidth: 640, videoHeight: 480, ownerDocument: { createElement: () => canvas } } as unknown as HTMLVideoElement
    await expect(captureFrame(video)).resolves.toBe(jpeg)
    expect([canvas.width, canvas.height]).toEqual([640, 480])
    expect(drawImage).toHaveBeenCalledWith(video, 0, 0, 640, 480)
    expect(canvas.toBlob.mock.calls[0].slice(1)).toEqual(['image/jpeg', 0.92])
    const dark = { ...video, videoWidth: 0 } as unknown as HTMLVideoElement
    await expect(captureFrame(dark)).rejects.toThrow('The camera has no picture yet')
  })
})
