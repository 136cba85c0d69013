/**
 * "Start from your own photo" (POST /api/invert): the check of a photo before
 * upload, the upload and its NDJSON answer read as it comes (faces found, progress,
 * the z found), what the panel shows of it, and a frame of the camera as a JPEG.
 */
import { ApiError, errorMessage, isAbort, readDetail } from './api'
import type { DoneEvent, FacesEvent, FoundFace, InvertEvent, InvertProgressEvent, ZContract } from './types'

/** The largest photo the server takes (it answers 413 above). */
export const PHOTO_MAX_BYTES = 20 * 1024 * 1024
/** The file picker's `accept`: any image, and HEIC/HEIF by name (browsers often give those no type). */
export const PHOTO_ACCEPT = 'image/*,.heic,.heif'
const HEIC_NAME = /\.(heic|heif)$/i
const LIMIT_TEXT = `${Math.round(PHOTO_MAX_BYTES / 2 ** 20)} MB`
/** The name sent for a photo without one (a camera frame). */
export const CAMERA_FILENAME = 'camera.jpg'

export class PhotoError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PhotoError'
  }
}

function nameOf(file: Blob): string {
  return typeof (file as File).name === 'string' ? (file as File).name : ''
}

function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1)
}

/** Throws PhotoError saying what is wrong when `file` cannot be sent as a photo (not an image, empty, too large). */
export function checkPhoto(file: Blob): void {
  const name = nameOf(file)
  const what = name ? `“${name}”` : 'The file'
  if (!file.type.startsWith('image/') && !HEIC_NAME.test(name)) {
    throw new PhotoError(`${what} is not an image: choose a photo (JPEG, PNG, WebP, GIF or HEIC).`)
  }
  if (file.size === 0) throw new PhotoError(`${what} is empty.`)
  if (file.size > PHOTO_MAX_BYTES) {
    throw new PhotoError(`${what} is ${megabytes(file.size)} MB; photos up to ${LIMIT_TEXT} can be used.`)
  }
}

/** The lines of an NDJSON stream as they arrive (a line may span chunks; the last one may lack its newline); blank lines are skipped. */
export async function* ndjsonLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let rest = ''
  let finished = false
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      rest += decoder.decode(value, { stream: true })
      let end: number
      while ((end = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, end).trim()
        rest = rest.slice(end + 1)
        if (line) yield line
      }
    }
    finished = true
    const last = (rest + decoder.decode()).trim()
    if (last) yield last
  } finally {
    // stopped early (the face is done, or an error): the server may stop sending
    if (!finished) reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}

async function* textLines(response: Response): AsyncGenerator<string> {
  for (const line of (await response.text()).split('\n')) if (line.trim()) yield line.trim()
}

function unreadable(why: string): PhotoError {
  return new PhotoError(`The server's answer about the photo could not be read (${why}).`)
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** One line of the answer as an event; null for events this page does not know (left for newer servers). */
export function parseEvent(line: string): InvertEvent | null {
  let data: unknown
  try {
    data = JSON.parse(line)
  } catch {
    throw unreadable(`not JSON: ${line.slice(0, 60)}`)
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw unreadable('a line is not an object')
  const e = data as Record<string, unknown>
  switch (e.event) {
    case 'faces':
      if (!Array.isArray(e.faces) || !Number.isInteger(e.chosen) || typeof e.crop !== 'string') throw unreadable('bad "faces" line')
      return e as unknown as FacesEvent
    case 'progress':
      if (!isNumber(e.step) || !isNumber(e.steps)) throw unreadable('bad "progress" line')
      return e as unknown as InvertProgressEvent
    case 'done':
      if (!Array.isArray(e.z) || typeof e.image !== 'string') throw unreadable('bad "done" line')
      return e as unknown as DoneEvent
    case 'error':
      return { event: 'error', detail: typeof e.detail === 'string' && e.detail ? e.detail : 'the server gave no reason' }
    default:
      return null
  }
}

/** The z of a photo, checked against the model's contract (GET /api/models); throws PhotoError. */
export function checkFoundZ(z: readonly unknown[], c: ZContract): number[] {
  if (z.length !== c.dim) throw new PhotoError(`The server's z for the photo holds ${z.length} numbers, but this model takes ${c.dim}.`)
  z.forEach((v, i) => {
    if (!isNumber(v)) throw new PhotoError(`The server's z for the photo has z[${i}] = ${JSON.stringify(v)}, not a number.`)
    if (v < c.low || v > c.high) {
      throw new PhotoError(`The server's z for the photo has z[${i}] = ${v}, outside the model's range [${c.low}, ${c.high}].`)
    }
  })
  return z as number[]
}

export interface InvertOptions {
  /** The model to fit (the server's default when left out). */
  model?: string
  /** Which face of the photo (index into the faces found; the server takes the largest when left out). */
  face?: number
  signal?: AbortSignal
  /** The model's z contract: the z found must fit it. */
  contract?: ZContract
  /** Each event as it arrives: the faces found, progress, and at last the face done. ("error" lines are thrown instead.) */
  onEvent: (e: FacesEvent | InvertProgressEvent | DoneEvent) => void
}

/** The message of an answer refused before the stream started (4xx with {"detail": ...}, or a server error). */
async function refusal(response: Response): Promise<ApiError> {
  // a proxy in front of the server may answer 413 itself, as an HTML page
  if (response.status === 413) return new ApiError(`The photo is too large for the server (photos up to ${LIMIT_TEXT}).`, 413)
  const detail = await readDetail(response)
  const message = response.status < 500 ? detail : `Server error ${response.status}: ${detail}`
  return new ApiError(message, response.status)
}

/**
 * Sends a photo to POST /api/invert and reads its answer as it streams in; resolves
 * with the "done" event. Throws PhotoError for a file that cannot be sent and for
 * an "error" line, ApiError (with the server's `detail`) for a refused photo; an
 * abort through `signal` rejects with the AbortError.
 */
export async function invertPhoto(file: Blob, options: InvertOptions): Promise<DoneEvent> {
  const { model, face, signal, contract, onEvent } = options
  checkPhoto(file)
  const form = new FormData()
  form.append('photo', file, nameOf(file) || CAMERA_FILENAME)
  if (model) form.append('model', model)
  if (face !== undefined) form.append('face', String(face))

  let response: Response
  try {
    response = await fetch('/api/invert', { method: 'POST', body: form, signal })
  } catch (error) {
    if (isAbort(error)) throw error
    throw new ApiError(`Cannot reach the face server (${errorMessage(error)}). Is it running?`, 0)
  }
  if (!response.ok) throw await refusal(response)

  const lines = response.body ? ndjsonLines(response.body) : textLines(response)
  for await (const line of lines) {
    const e = parseEvent(line)
    if (!e) continue
    signal?.throwIfAborted()
    if (e.event === 'error') throw new PhotoError(e.detail)
    if (e.event === 'done' && contract) checkFoundZ(e.z, contract)
    onEvent(e)
    if (e.event === 'done') return e
  }
  throw new PhotoError('The server stopped before the face was done.')
}

// ---------- what the panel shows ----------

export interface InvertView {
  faces: FoundFace[]
  /** The index of the face used (or being used), if known. */
  chosen: number | null
  /** The aligned crop of the face used. */
  crop: string | null
  photoSize: [number, number] | null
  step: number
  steps: number
  done: DoneEvent | null
}

/** The view as a run starts: empty, or for another face of the same photo, its faces kept (the new one marked). */
export function startView(previous?: InvertView, face?: number): InvertView {
  const keep = face !== undefined && previous && face >= 0 && face < previous.faces.length
  return {
    faces: keep ? previous.faces : [],
    chosen: keep ? face : null,
    crop: null,
    photoSize: keep ? previous.photoSize : null,
    step: 0,
    steps: 0,
    done: null,
  }
}

export function applyEvent(view: InvertView, e: InvertEvent): InvertView {
  switch (e.event) {
    case 'faces': {
      const size = Array.isArray(e.photo_size) && e.photo_size.length === 2 && e.photo_size.every((v) => isNumber(v) && v > 0)
      return { ...view, faces: e.faces, chosen: e.chosen, crop: e.crop, photoSize: size ? e.photo_size : null }
    }
    case 'progress':
      return { ...view, step: e.step, steps: e.steps }
    case 'done':
      return { ...view, crop: e.crop || view.crop, step: view.steps, done: e }
    default:
      return view
  }
}

/** How far the fit is, in [0, 1]; null before the first progress line (the bar then shows it is busy). */
export function progressFraction(view: InvertView): number | null {
  if (!(view.steps > 0)) return null
  return Math.min(1, Math.max(0, view.step / view.steps))
}

/** What is going on, in words, while a run works. */
export function workingText(view: InvertView): string {
  if (!view.faces.length) return 'Uploading the photo and looking for faces…'
  if (!(view.steps > 0)) return 'Found the face; fitting z…'
  return `Fitting z: step ${view.step} of ${view.steps}`
}

/** E.g. "PSNR 24.1 dB · SSIM 0.77 · 1.4 s" (the parts the server gave). */
export function scoresText(done: DoneEvent): string {
  const parts: string[] = []
  if (isNumber(done.scores?.psnr)) parts.push(`PSNR ${done.scores.psnr.toFixed(1)} dB`)
  if (isNumber(done.scores?.ssim)) parts.push(`SSIM ${done.scores.ssim.toFixed(2)}`)
  if (isNumber(done.seconds)) parts.push(`${done.seconds.toFixed(1)} s`)
  return parts.join(' · ')
}

export interface FaceChoice {
  index: number
  label: string
  chosen: boolean
  /** Where its box is on the photo's preview, in percent (null when the photo's size is unknown). */
  place: { left: string; top: string; width: string; height: string } | null
}

const percent = (v: number, of: number) => `${((100 * v) / of).toFixed(2)}%`

/** The faces found, as choices: "Face 2 of 3", the one in use, and its box on the preview. */
export function faceChoices(view: InvertView): FaceChoice[] {
  const n = view.faces.length
  return view.faces.map((f, index) => {
    const box = f.box
    const size = view.photoSize
    const ok = size && Array.isArray(box) && box.length === 4 && box.every(isNumber)
    return {
      index,
      label: `Face ${index + 1} of ${n}`,
      chosen: index === view.chosen,
      place: ok
        ? { left: percent(box[0], size[0]), top: percent(box[1], size[1]), width: percent(box[2], size[0]), height: percent(box[3], size[1]) }
        : null,
    }
  })
}

// ---------- the camera ----------

/** Whether the browser gives the page a camera (navigator.mediaDevices exists only on HTTPS and localhost). */
export function cameraSupported(nav: Navigator | undefined = globalThis.navigator): boolean {
  return typeof nav?.mediaDevices?.getUserMedia === 'function'
}

function cameraProblem(error: unknown): string {
  switch ((error as Error)?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'the camera was not allowed (see the browser’s permission for this page)'
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'no camera was found'
    case 'NotReadableError':
      return 'the camera is in use by another program'
    default:
      return errorMessage(error)
  }
}

/** The front camera's video stream; throws PhotoError saying why there is none. */
export async function openCamera(nav: Navigator | undefined = globalThis.navigator): Promise<MediaStream> {
  if (!cameraSupported(nav)) throw new PhotoError('This browser gives the page no camera (it needs HTTPS or localhost).')
  try {
    return await nav!.mediaDevices.getUserMedia({ video: { facingMode: 'user' }, audio: false })
  } catch (error) {
    throw new PhotoError(`Camera: ${cameraProblem(error)}.`)
  }
}

/** Turns the camera off (every track of the stream). */
export function stopCamera(stream: MediaStream | null | undefined): void {
  for (const track of stream?.getTracks() ?? []) track.stop()
}

/** The video's current frame as a JPEG (at the video's own size). */
export function captureFrame(video: HTMLVideoElement, quality = 0.92): Promise<Blob> {
  const width = video.videoWidth
  const height = video.videoHeight
  if (!width || !height) return Promise.reject(new PhotoError('The camera has no picture yet; wait a moment and try again.'))
  const canvas = video.ownerDocument.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const context = canvas.getContext('2d')
  if (!context) return Promise.reject(new PhotoError('This browser cannot take a picture from the camera.'))
  context.drawImage(video, 0, 0, width, height)
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new PhotoError('The picture could not be taken.'))), 'image/jpeg', quality)
  })
}
