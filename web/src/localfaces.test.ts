import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { RgbaImage } from './engine'
import { arithmeticZ, clipZ, interpolateZ, localFaces, sampleZ, seededRandom } from './localfaces'
import type { ZContract } from './types'

const UNIFORM: ZContract = { dim: 100, prior: 'uniform', low: -1, high: 1 }
const NORMAL: ZContract = { dim: 512, prior: 'normal', low: -3, high: 3 }

describe('z in the browser', () => {
  it('a seed always gives the same z; another seed another', () => {
    expect(sampleZ(UNIFORM, 42)).toEqual(sampleZ(UNIFORM, 42))
    expect(sampleZ(UNIFORM, 42)).not.toEqual(sampleZ(UNIFORM, 43))
    const r = seededRandom(1)
    const draws = Array.from({ length: 1000 }, r)
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...draws)).toBeLessThan(1)
  })

  it("a seed gives the server's z (dcgan.z.seeded_z checks the same numbers in tests/test_z.py)", () => {
    const url = new URL('../../tests/fixtures/seeded_z.json', import.meta.url)
    const { cases } = JSON.parse(readFileSync(url, 'utf8')) as {
      cases: { seed: number; truncation: number; z: ZContract; expected: number[] }[]
    }
    expect(cases.length).toBeGreaterThan(3)
    for (const c of cases) expect(sampleZ(c.z, c.seed, c.truncation)).toEqual(c.expected)
  })

  it('uniform z fills [low, high] of the contract, with its dimension', () => {
    const z = sampleZ({ dim: 2000, prior: 'uniform', low: -2, high: 4 }, 7)
    expect(z).toHaveLength(2000)
    expect(Math.min(...z)).toBeGreaterThanOrEqual(-2)
    expect(Math.max(...z)).toBeLessThanOrEqual(4)
    expect(Math.min(...z)).toBeLessThan(-1.9)
    expect(Math.max(...z)).toBeGreaterThan(3.9)
    const mean = z.reduce((a, b) => a + b, 0) / z.length
    expect(mean).toBeCloseTo(1, 0)
  })

  it('normal z is standard normal, clipped into [low, high]', () => {
    const z = sampleZ({ ...NORMAL, dim: 20000 }, 3)
    const mean = z.reduce((a, b) => a + b, 0) / z.length
    const sd = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length)
    expect(Math.abs(mean)).toBeLessThan(0.05)
    expect(sd).toBeGreaterThan(0.95)
    expect(sd).toBeLessThan(1.05)
    expect(Math.max(...z.map(Math.abs))).toBeLessThanOrEqual(3)
    const tight = sampleZ({ ...NORMAL, dim: 2000, low: -1, high: 1 }, 3)
    expect(tight.filter((v) => Math.abs(v) === 1).length).toBeGreaterThan(300) // about 32% clipped
  })

  it('truncation pulls z toward the centre of the range', () => {
    const c = { dim: 50, prior: 'uniform', low: 0, high: 2 }
    const full = sampleZ(c, 9)
    const half = sampleZ(c, 9, 0.5)
    half.forEach((v, i) => expect(v).toBeCloseTo(1 + 0.5 * (full[i] - 1), 5))
    expect(() => sampleZ(c, 9, 0)).toThrow(/truncation/)
  })

  it('interpolates linearly and spherically from a to b, clipped', () => {
    const c: ZContract = { dim: 2, prior: 'normal', low: -3, high: 3 }
    const lin = interpolateZ([0, 2], [2, 0], 3, 'linear', c)
    expect(lin).toEqual([
      [0, 2],
      [1, 1],
      [2, 0],
    ])
    const sph = interpolateZ([0, 2], [2, 0], 3, 'spherical', c)
    expect(sph[1][0]).toBeCloseTo(Math.SQRT2, 5) // along the arc, not the chord
    expect(sph[0]).toEqual([0, 2])
    expect(sph[2][0]).toBeCloseTo(2, 6)
    // parallel vectors: spherical falls back to linear
    expect(interpolateZ([1, 1], [2, 2], 2, 'spherical', c)).toEqual([
      [1, 1],
      [2, 2],
    ])
    const bulge = interpolateZ([0, 2.9], [2.9, 0], 3, 'spherical', { ...c, high: 2.9 })
    expect(Math.max(...bulge.flat())).toBeLessThanOrEqual(Math.fround(2.9))
    expect(() => interpolateZ([0], [1], 1, 'linear', c)).toThrow(/steps/)
  })

  it('arithmetic is mean(A) − mean(B) + mean(C), clipped like the server', () => {
    const z = arithmeticZ(
      [
        [0.5, 0],
        [0.7, 0],
      ],
      [[-0.4, 0.5]],
      [[0.2, -0.8]],
      UNIFORM,
    )
    expect(z[0]).toBe(1) // 0.6 + 0.4 + 0.2 = 1.2, clipped
    expect(z[1]).toBeCloseTo(-1, 6) // -0.5 - 0.8 = -1.3, clipped
    expect(clipZ([0.1], UNIFORM)).toEqual([Math.fround(0.1)])
  })
})

describe('localFaces', () => {
  function setup() {
    const batches: number[][][] = []
    const engine = {
      async generate(z: number[][]): Promise<RgbaImage[]> {
        batches.push(z)
        return z.map((row) => ({ width: 1, height: 1, data: Uint8ClampedArray.from([Math.round((row[0] + 1) * 127.5), 0, 0, 255]) }))
      },
    }
    const encoder = {
      png: async (i: RgbaImage) => new Blob([`png${i.data[0]}${i.width > 1 ? `@${i.width}px` : ''}`], { type: 'image/png' }),
      dataUrl: async (i: RgbaImage) => `data:image/png;base64,R${i.data[0]}`,
    }
    const faces = localFaces(engine, { name: 'm1', z: UNIFORM, truncation: 0.5 }, encoder)
    return { faces, batches }
  }

  it('random: a seed gives a z from the contract and its face; a seed alone uses the model truncation', async () => {
    const { faces, batches } = setup()
    const res = await faces.random({ seed: 5 })
    expect(res.seed).toBe(5)
    expect(res.z).toEqual(sampleZ(UNIFORM, 5, 0.5))
    expect(res.image).toBe(`data:image/png;base64,R${Math.round((res.z[0] + 1) * 127.5)}`)
    expect(batches).toEqual([[res.z]])
    expect((await faces.random({ seed: 5, truncation: 1 })).z).toEqual(sampleZ(UNIFORM, 5, 1))
    const unseeded = await faces.random()
    expect(unseeded.seed).toBeGreaterThanOrEqual(0)
    expect(unseeded.z).toEqual(sampleZ(UNIFORM, unseeded.seed, 0.5))
  })

  it('morph frames all come from one batch', async () => {
    const { faces, batches } = setup()
    const a = new Array(100).fill(-1)
    const b = new Array(100).fill(1)
    const res = await faces.interpolate({ a, b, steps: 5, method: 'linear' })
    expect(batches).toHaveLength(1)
    expect(batches[0]).toHaveLength(5)
    expect(res.z.map((z) => z[0])).toEqual([-1, -0.5, 0, 0.5, 1])
    expect(res.images).toEqual(['R0', 'R64', 'R128', 'R191', 'R255'].map((r) => `data:image/png;base64,${r}`))
  })

  it('arithmetic and the face of a painted z, as a PNG or as pixels', async () => {
    const { faces } = setup()
    const res = await faces.arithmetic({ a: [new Array(100).fill(0.5)], b: [new Array(100).fill(0)], c: [new Array(100).fill(0)] })
    expect(res.z[0]).toBe(0.5)
    expect(res.image).toBe('data:image/png;base64,R191')
    const png = await faces.generatePng(new Array(100).fill(1))
    expect(await png.text()).toBe('png255')
    const pixels = await faces.pixels(new Array(100).fill(1)) // the face on show: no PNG
    expect(pixels.data[0]).toBe(255)
    const big = await faces.generatePng(new Array(100).fill(0), { scale: 8, resample: 'lanczos' }) // the download
    expect(await big.text()).toBe('png128@8px')
  })

  it('an aborted request answers AbortError, not a face', async () => {
    const { faces, batches } = setup()
    const controller = new AbortController()
    controller.abort()
    await expect(faces.generatePng(new Array(100).fill(0), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect(batches).toHaveLength(0)
  })
})
