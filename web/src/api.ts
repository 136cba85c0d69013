/** Typed wrappers of the studio's HTTP API (relative URLs under /api). */
import type { Attributes, ClassifierInfo, Direction, LinearDirection, ModelsResponse } from './types'
import type { Boundary } from './makemelocal'

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException ? error.name === 'AbortError' : (error as Error)?.name === 'AbortError'
}

/** A readable message for any error thrown by the wrappers (or anything else). */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}

/** The readable part of an error answer: its `detail` (FastAPI style), else its text. */
export async function readDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  try {
    const data = JSON.parse(text) as { detail?: unknown }
    const detail = data?.detail
    if (typeof detail === 'string') return detail
    if (Array.isArray(detail)) {
      return detail.map((d) => (typeof d === 'object' && d && 'msg' in d ? String(d.msg) : JSON.stringify(d))).join('; ')
    }
    if (detail !== undefined) return JSON.stringify(detail)
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 300) || response.statusText || 'no details'
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response
  try {
    response = await fetch(path, init)
  } catch (error) {
    if (isAbort(error)) throw error
    throw new ApiError(`Cannot reach the face server (${errorMessage(error)}). Is it running?`, 0)
  }
  if (!response.ok) {
    throw new ApiError(`Server error ${response.status} on ${path}: ${await readDetail(response)}`, response.status)
  }
  return response
}

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await request(path, init)
  try {
    return (await response.json()) as T
  } catch {
    throw new ApiError(`The server's answer to ${path} is not JSON`, response.status)
  }
}

function post(body: unknown, signal?: AbortSignal): RequestInit {
  return { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal }
}

export interface HealthResponse {
  status: string
  models: string[]
}

export interface GenerateOptions {
  model?: string
  scale?: number
  resample?: 'nearest' | 'lanczos'
  signal?: AbortSignal
}

export interface RandomResponse {
  seed: number
  model?: string
  z: number[]
  image: string
}

export interface InterpolateResponse {
  z: number[][]
  images: string[]
}

export interface ArithmeticResponse {
  z: number[]
  image: string
}

export interface DirectionsResponse {
  model: string
  directions: Direction[]
  /** The classifier's outputs: the binary attributes, and "Age" (years) when it has one. */
  attributes: string[]
}

/** A static site's controls.json: GET /api/directions with each direction's unit vector in z. */
export interface StaticControls {
  directions: LinearDirection[]
  attributes: string[]
  /** SeFa's orthonormal directions (dim × dim), the basis a cross mixes parents in. */
  basis: number[][]
  /** The attribute classifier for the page (64×64 RGB models). */
  classifier?: ClassifierInfo
  /** Each attribute's signed distance n·z + offset, which "make me a face" steers. */
  boundaries: Record<string, Boundary>
}

export interface EditRequest {
  model?: string
  z: number[]
  /** Amounts in slider steps, by direction name. */
  moves: Record<string, number>
  /** null: hold every other named attribute; []: hold none. */
  hold: string[] | null
}

export interface EditResponse {
  z: number[]
  image: string
  /** Share of the asked change not reached, in [0, 1] (see `unreachedNote`). */
  clipped: number
  /** How many of z's numbers the edit took to the edge of their range. */
  saturated: number
  attributes: Attributes
}

/** Binary attributes: true (wanted) or false (not wanted); "Age": [low, high] years. */
export type Constraints = Record<string, boolean | [number, number]>

export interface SampleRequest {
  model?: string
  constraints: Constraints
  n: number
  seed?: number
  truncation?: number
}

export interface SampledFace {
  z: number[]
  image: string
  attributes: Attributes
  satisfied: boolean
}

export interface SampleResponse {
  faces: SampledFace[]
  satisfied: number
  tried: number
  ms: number
}

export interface FacesResponse {
  faces: { z: number[]; image: string }[]
}

export const api = {
  health(signal?: AbortSignal): Promise<HealthResponse> {
    return json('/api/health', { signal })
  },

  models(signal?: AbortSignal): Promise<ModelsResponse> {
    return json('/api/models', { signal })
  },

  /** The models of a static site (no server): models.json next to index.html, the shape of GET /api/models. */
  staticModels(signal?: AbortSignal): Promise<ModelsResponse> {
    return json('models.json', { signal })
  },

  /** A static site's sliders (controls.json, at the URL its models.json gives): directions with their vectors. */
  staticControls(url: string, signal?: AbortSignal): Promise<StaticControls> {
    return json(url, { signal })
  },

  /** One face as PNG bytes. */
  async generatePng(z: number[], options: GenerateOptions = {}): Promise<Blob> {
    const { model, scale, resample, signal } = options
    const response = await request('/api/generate', post({ model, z, scale, resample, format: 'png' }, signal))
    return response.blob()
  },

  random(
    options: { seed?: number; truncation?: number; model?: string; signal?: AbortSignal } = {},
  ): Promise<RandomResponse> {
    const query = new URLSearchParams()
    if (options.seed !== undefined) query.set('seed', String(options.seed))
    if (options.truncation !== undefined) query.set('truncation', String(options.truncation))
    if (options.model) query.set('model', options.model)
    const qs = query.toString()
    return json(`/api/random${qs ? `?${qs}` : ''}`, { signal: options.signal })
  },

  interpolate(
    body: { model?: string; a: number[]; b: number[]; steps: number; method: 'linear' | 'spherical' },
    signal?: AbortSignal,
  ): Promise<InterpolateResponse> {
    return json('/api/interpolate', post(body, signal))
  },

  arithmetic(
    body: { model?: string; a: number[][]; b: number[][]; c: number[][] },
    signal?: AbortSignal,
  ): Promise<ArithmeticResponse> {
    return json('/api/arithmetic', post(body, signal))
  },

  /** The model's named and discovered directions; 404 when it has no named controls. */
  directions(model: string, signal?: AbortSignal): Promise<DirectionsResponse> {
    return json(`/api/directions?${new URLSearchParams({ model })}`, { signal })
  },

  edit(body: EditRequest, signal?: AbortSignal): Promise<EditResponse> {
    return json('/api/edit', post(body, signal))
  },

  attributes(body: { model?: string; z: number[] }, signal?: AbortSignal): Promise<{ attributes: Attributes }> {
    return json('/api/attributes', post(body, signal))
  },

  sample(body: SampleRequest, signal?: AbortSignal): Promise<SampleResponse> {
    return json('/api/sample', post(body, signal))
  },

  children(
    body: { model?: string; z: number[]; n: number; amount: number; lock: boolean; seed?: number },
    signal?: AbortSignal,
  ): Promise<FacesResponse> {
    return json('/api/children', post(body, signal))
  },

  cross(
    body: { model?: string; parents: number[][]; n: number; weights?: number[]; seed?: number },
    signal?: AbortSignal,
  ): Promise<FacesResponse> {
    return json('/api/cross', post(body, signal))
  },
}

/** The face requests that the browser can answer itself once the model runs there (localfaces.ts). */
export type FaceService = Pick<typeof api, 'generatePng' | 'random' | 'interpolate' | 'arithmetic'>
