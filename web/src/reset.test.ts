import { describe, expect, it } from 'vitest'
import type { ModelInfo } from './types'
import { resetTarget } from './reset'

const model = (reset_z?: number[]): ModelInfo => ({
  name: 'm1',
  z: { dim: 3, prior: 'uniform', low: -1, high: 1 },
  image_size: 64,
  channels: 3,
  reset_z,
})

describe('resetTarget', () => {
  it("takes the server's reset_z", () => {
    const t = resetTarget(model([0.5, -0.25, 1]))
    expect(t.z).toEqual([0.5, -0.25, 1])
    expect(t.title).toMatch(/reset face/)
  })

  it("falls back to the prior's centre, and says so, without a usable reset_z", () => {
    for (const z of [undefined, [0, 0], [0, 0, 2], [0, Number.NaN, 0]]) {
      const t = resetTarget(model(z))
      expect(t.z).toEqual([0, 0, 0])
      expect(t.title).toBe("All squares to the prior's centre (z = 0.00, mid grey): a flat texture, not a face")
    }
  })
})
