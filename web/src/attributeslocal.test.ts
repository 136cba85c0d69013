import { describe, expect, it, vi } from 'vitest'
import { calibrated, classifierInput, localReader } from './attributeslocal'
import type { Runtime } from './engine'

const INFO = {
  url: 'models/m1/classifier.onnx',
  bytes: 4,
  sha256: '',
  attributes: ['Smiling', 'Male'],
  thresholds: { Smiling: 0.25, Male: 0.5 },
}

function face(red: number) {
  const data = new Uint8ClampedArray(64 * 64 * 4).fill(0)
  for (let i = 0; i < 64 * 64; i++) data.set([red, 1, 2, 255], 4 * i)
  return { width: 64, height: 64, data }
}

describe('calibrated', () => {
  it("shifts each probability in log-odds so that its threshold reads 0.5, as runtime.calibrate does", () => {
    const out = calibrated([0, 0], 41.5, INFO)
    expect(out.Smiling).toBeCloseTo(0.75, 6) // sigmoid(0 − logit(0.25)) = sigmoid(ln 3)
    expect(out.Male).toBeCloseTo(0.5, 6)
    expect(out.Age).toBe(41.5)
    expect(calibrated([Math.log(0.25 / 0.75), 3], 0, INFO).Smiling).toBeCloseTo(0.5, 6)
  })
})

describe('classifierInput', () => {
  it('gives N × 64 × 64 × 3 RGB values and refuses other sizes', () => {
    const input = classifierInput([face(10), face(20)])
    expect(input.length).toBe(2 * 64 * 64 * 3)
    expect(Array.from(input.subarray(0, 3))).toEqual([10, 1, 2])
    expect(Array.from(input.subarray(64 * 64 * 3, 64 * 64 * 3 + 3))).toEqual([20, 1, 2])
    expect(() => classifierInput([{ width: 1, height: 1, data: new Uint8ClampedArray(4) }])).toThrow(/64×64/)
  })
})

describe('localReader', () => {
  it('downloads and opens the classifier once, then reads batches', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(new Uint8Array([1, 2, 3, 4]))))
    const runs: number[] = []
    const runtime = {
      createSession: vi.fn(),
      createClassifier: vi.fn(async () => ({
        async run(images: Float32Array, n: number) {
          runs.push(n)
          // logit of Smiling = the first red value / 10, Male 0; age 30 + n
          const attributes = Array.from({ length: n }, (_, i) => [images[i * 64 * 64 * 3] / 10, 0]).flat()
          return { attributes, age: Array.from({ length: n }, (_, i) => 30 + i) }
        },
      })),
    } as unknown as Runtime
    const read = localReader(INFO, runtime, async () => null)
    const [a, b] = await read([face(0), face(10)])
    expect(a.Smiling).toBeCloseTo(0.75, 6)
    expect(b.Smiling).toBeCloseTo(1 / (1 + Math.exp(-(1 + Math.log(3)))), 6)
    expect([a.Age, b.Age]).toEqual([30, 31])
    await read([face(0)])
    expect(runtime.createClassifier).toHaveBeenCalledTimes(1)
    expect(runs).toEqual([2, 1])
    vi.unstubAllGlobals()
  })

  it('tries to open the classifier again after a failed download', async () => {
    const fetch = vi.fn(async () => new Response('gone', { status: 503 }))
    vi.stubGlobal('fetch', fetch)
    const runtime = { createSession: vi.fn(), createClassifier: vi.fn() } as unknown as Runtime
    const read = localReader(INFO, runtime, async () => null)
    await expect(read([face(0)])).rejects.toThrow(/503/)
    await expect(read([face(0)])).rejects.toThrow(/503/)
    expect(fetch).toHaveBeenCalledTimes(2)
    vi.unstubAllGlobals()
  })
})
