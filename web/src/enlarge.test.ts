import { describe, expect, it } from 'vitest'
import fixture from './enlarge.fixture.json'
import { enlarge, type Resample } from './enlarge'

/** An RGB list (the fixture's) as the engine's RGBA picture. */
function rgba(rgb: number[], width: number, height: number) {
  const data = new Uint8ClampedArray(width * height * 4)
  for (let i = 0; i < width * height; i++) data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i)
  return { width, height, data }
}

describe('enlarge', () => {
  it.each(fixture.map((c) => [c.input.resample, c.input.scale, c] as const))('%s ×%i answers as Pillow does', (_, __, { input, output }) => {
    const out = enlarge(rgba(input.pixels, input.width, input.height), input.scale, input.resample as Resample)
    expect([out.width, out.height]).toEqual([input.width * input.scale, input.height * input.scale])
    const rgb = Array.from(out.data).filter((_, i) => i % 4 !== 3)
    expect(rgb).toEqual(output.pixels)
    expect(Array.from(out.data).filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true)
  })

  it('leaves a picture as it is at scale 1 and refuses other scales', () => {
    const image = rgba([1, 2, 3], 1, 1)
    expect(enlarge(image, 1, 'lanczos')).toBe(image)
    expect(() => enlarge(image, 1.5, 'nearest')).toThrow(/whole number/)
    expect(() => enlarge(image, 0, 'nearest')).toThrow(/whole number/)
  })
})
