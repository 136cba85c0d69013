/**
 * The page's face requests answered in the browser by a LocalEngine: the same
 * shapes as the server's answers (api.ts), with the z maths of dcgan.z and
 * dcgan.sampling done here, from the model's z contract.
 */
import type { ArithmeticResponse, FaceService, InterpolateResponse, RandomResponse } from './api'
import { enlarge } from './enlarge'
import type { RgbaImage } from './engine'
import type { ZContract } from './types'
import { drawPrior } from './zmap'

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** z clipped into [low, high], as float32 values (dcgan.z.clip_z). */
export function clipZ(z: number[], c: ZContract): number[] {
  return z.map((v) => Math.fround(Math.min(c.high, Math.max(c.low, v))))
}

/**
 * One z from the prior (uniform on [low, high], or the standard normal), pulled toward
 * the centre by ψ = `truncation` and clipped into [low, high], as the server's /api/random does.
 * The same seed gives the same z here as on the server (dcgan.z.seeded_z runs this generator too).
 */
export function sampleZ(c: ZContract, seed: number, truncation = 1): number[] {
  if (!(truncation > 0 && truncation <= 1)) throw new Error(`truncation must be in (0, 1], got ${truncation}`)
  const random = seededRandom(seed)
  const centre = (c.low + c.high) / 2
  const z = Array.from({ length: c.dim }, () => drawPrior(c, random))
  return clipZ(
    z.map((v) => centre + truncation * (v - centre)),
    c,
  )
}

/** `steps` z from a to b, linear or spherical (dcgan.sampling.interpolate), clipped into the range. */
export function interpolateZ(a: number[], b: number[], steps: number, method: 'linear' | 'spherical', c: ZContract): number[][] {
  if (steps < 2) throw new Error(`steps must be >= 2, got ${steps}`)
  const ts = Array.from({ length: steps }, (_, i) => i / (steps - 1))
  const lerp = (t: number) => a.map((v, i) => (1 - t) * v + t * b[i])
  let at = lerp
  if (method === 'spherical') {
    const dot = a.reduce((s, v, i) => s + v * b[i], 0)
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    const omega = Math.acos(Math.min(1, Math.max(-1, dot / (norm(a) * norm(b) + 1e-12))))
    const sin = Math.sin(omega)
    if (sin >= 1e-6) at = (t) => a.map((v, i) => (Math.sin((1 - t) * omega) * v + Math.sin(t * omega) * b[i]) / sin)
  }
  return ts.map((t) => clipZ(at(t), c))
}

/** mean(A) − mean(B) + mean(C), clipped into the range (the server's default fit, "clip"). */
export function arithmeticZ(a: number[][], b: number[][], c: number[][], contract: ZContract): number[] {
  const mean = (group: number[][]) => group[0].map((_, i) => group.reduce((s, z) => s + z[i], 0) / group.length)
  const [ma, mb, mc] = [mean(a), mean(b), mean(c)]
  return clipZ(
    ma.map((v, i) => v - mb[i] + mc[i]),
    contract,
  )
}

/** Turns pictures into PNG (data URLs for faces kept or shown in panels, blobs for downloads and measurements). */
export interface Encoder {
  png(image: RgbaImage): Promise<Blob>
  dataUrl(image: RgbaImage): Promise<string>
}

function aborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DOMException('The face is no longer wanted', 'AbortError')
}

/** A seed for Random when none is given. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31)
}

/** The FaceService of one model, in the browser; `pixels` is the face of a z with no PNG (the face on show). */
export type LocalFaceService = FaceService & {
  model: string
  pixels(z: number[], signal?: AbortSignal): Promise<RgbaImage>
  /** The faces of several z as data URLs (breeding on a static site). */
  dataUrls(z: number[][], signal?: AbortSignal): Promise<string[]>
  /** The faces of several z as pixels, and a face as a data URL ("make me a face" on a static site). */
  batch(z: number[][], signal?: AbortSignal): Promise<RgbaImage[]>
  encode(image: RgbaImage): Promise<string>
}

export function localFaces(
  engine: { generate(z: number[][]): Promise<RgbaImage[]> },
  model: { name: string; z: ZContract; truncation?: number },
  encoder: Encoder,
): LocalFaceService {
  const images = async (z: number[][], signal?: AbortSignal) => {
    aborted(signal)
    const out = await engine.generate(z)
    aborted(signal)
    return out
  }
  const pixels = async (z: number[], signal?: AbortSignal) => (await images([z], signal))[0]
  return {
    model: model.name,
    pixels,

    async dataUrls(z, signal) {
      return Promise.all((await images(z, signal)).map((image) => encoder.dataUrl(image)))
    },
    batch: images,
    encode: (image) => encoder.dataUrl(image),

    async generatePng(z, options = {}) {
      return encoder.png(enlarge(await pixels(z, options.signal), options.scale ?? 1, options.resample ?? 'nearest'))
    },

    async random(options = {}): Promise<RandomResponse> {
      const seed = options.seed ?? freshSeed()
      // like the server: a seed alone gets the model's own truncation
      const z = sampleZ(model.z, seed, options.truncation ?? model.truncation ?? 1)
      const [image] = await images([z], options.signal)
      return { seed, model: model.name, z, image: await encoder.dataUrl(image) }
    },

    async interpolate(body, signal): Promise<InterpolateResponse> {
      const z = interpolateZ(body.a, body.b, body.steps, body.method, model.z)
      const out = await images(z, signal)
      return { z, images: await Promise.all(out.map((i) => encoder.dataUrl(i))) }
    },

    async arithmetic(body, signal): Promise<ArithmeticResponse> {
      const z = arithmeticZ(body.a, body.b, body.c, model.z)
      const [image] = await images([z], signal)
      return { z, image: await encoder.dataUrl(image) }
    },
  }
}
