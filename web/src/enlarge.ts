/**
 * A face enlarged a whole number of times in the page, as the server's `dcgan.images.enlarge` does with Pillow:
 * nearest (each pixel a square) or Lanczos-3, Pillow's separable resampling (libImaging/Resample.c: horizontal
 * pass, then vertical, each rounded to 8 bits with 22-bit fixed-point weights). `enlarge.fixture.json` holds
 * Pillow's answers, which the tests compare with.
 */
import type { RgbaImage } from './engine'

export type Resample = 'nearest' | 'lanczos'

const SUPPORT = 3
const PRECISION_BITS = 32 - 8 - 2
const ONE = 2 ** PRECISION_BITS

function sinc(x: number): number {
  if (x === 0) return 1
  const px = Math.PI * x
  return Math.sin(px) / px
}

const lanczos = (x: number): number => (Math.abs(x) < SUPPORT ? sinc(x) * sinc(x / SUPPORT) : 0)

/** For each output index along one axis: the first input index and the fixed-point weights of its taps. */
function taps(inSize: number, outSize: number): { first: number; weights: number[] }[] {
  const scale = inSize / outSize // < 1: enlarging, so the filter keeps its own width
  return Array.from({ length: outSize }, (_, out) => {
    const center = (out + 0.5) * scale
    const first = Math.max(Math.trunc(center - SUPPORT + 0.5), 0)
    const last = Math.min(Math.trunc(center + SUPPORT + 0.5), inSize)
    const raw = Array.from({ length: last - first }, (_, i) => lanczos(i + first - center + 0.5))
    const total = raw.reduce((a, b) => a + b, 0)
    const weights = raw.map((w) => {
      const k = total === 0 ? w : w / total
      return Math.trunc(k * ONE + (k < 0 ? -0.5 : 0.5))
    })
    return { first, weights }
  })
}

const clip8 = (sum: number): number => Math.min(255, Math.max(0, Math.floor(sum / ONE)))

/** One pass along an axis: `along(x, y)` reads the source, the output has `outSize` along that axis. */
function pass(image: RgbaImage, outSize: number, horizontal: boolean): RgbaImage {
  const width = horizontal ? outSize : image.width
  const height = horizontal ? image.height : outSize
  const data = new Uint8ClampedArray(width * height * 4)
  const plan = taps(horizontal ? image.width : image.height, outSize)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const { first, weights } = plan[horizontal ? x : y]
      const o = (y * width + x) * 4
      for (let c = 0; c < 3; c++) {
        let sum = ONE / 2
        for (let i = 0; i < weights.length; i++) {
          const sx = horizontal ? first + i : x
          const sy = horizontal ? y : first + i
          sum += image.data[(sy * image.width + sx) * 4 + c] * weights[i]
        }
        data[o + c] = clip8(sum)
      }
      data[o + 3] = 255
    }
  }
  return { width, height, data }
}

function nearest(image: RgbaImage, scale: number): RgbaImage {
  const width = image.width * scale
  const height = image.height * scale
  const data = new Uint8ClampedArray(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (Math.floor(y / scale) * image.width + Math.floor(x / scale)) * 4
      data.set(image.data.subarray(from, from + 4), (y * width + x) * 4)
    }
  }
  return { width, height, data }
}

/** `image` `scale` times larger (a whole number ≥ 1). */
export function enlarge(image: RgbaImage, scale: number, resample: Resample): RgbaImage {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be a whole number >= 1, got ${scale}`)
  if (scale === 1) return image
  if (resample === 'nearest') return nearest(image, scale)
  return pass(pass(image, image.width * scale, true), image.height * scale, false)
}
