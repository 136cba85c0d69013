import { describe, expect, it } from 'vitest'
import fixture from './linear.fixture.json'
import { linearEdit, moveInBox } from './linear'
import type { LinearDirection } from './types'

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0)

describe('moveInBox', () => {
  it.each(fixture.map((c, i) => [i, c] as const))("answers case %i as Python's move_in_box does", (_, { input, output }) => {
    const move = moveInBox(input.z, input.normals, input.targets, -1, 1)
    move.z.forEach((v, j) => expect(v).toBeCloseTo(output.z[j], 5))
    expect(move.lost).toBeCloseTo(output.lost, 5)
    expect(move.saturated).toBe(output.saturated)
  })

  it('meets the targets exactly inside the box, and never leaves it', () => {
    const z = [0, 0.2, -0.1, 0.4]
    const normals = [
      [0.6, 0.8, 0, 0],
      [0, 0, 1, 0],
    ]
    const small = moveInBox(z, normals, [0.3, -0.2], -1, 1)
    expect(dot(normals[0], small.z.map((v, j) => v - z[j]))).toBeCloseTo(0.3, 5)
    expect(dot(normals[1], small.z.map((v, j) => v - z[j]))).toBeCloseTo(-0.2, 5)
    expect(small.lost).toBeCloseTo(0, 6)
    const large = moveInBox(z, normals, [5, 0], -1, 1)
    expect(Math.max(...large.z.map(Math.abs))).toBeLessThanOrEqual(1)
    expect(large.lost).toBeGreaterThan(0.5) // the box took most of it, and says so
    expect(large.saturated).toBeGreaterThan(0)
  })

  it('gives a finite answer when two rows repeat', () => {
    const n = [1, 0, 0]
    const move = moveInBox([0, 0, 0], [n, n], [0.5, 0.5], -1, 1)
    expect(move.z[0]).toBeCloseTo(0.5, 5)
    expect(move.lost).toBeCloseTo(0, 5)
  })
})

describe('linearEdit', () => {
  const direction = (name: string, kind: LinearDirection['kind'], vector: number[], step: number): LinearDirection => ({
    name,
    kind,
    label: name,
    how: '',
    description: '',
    step,
    vector,
  })
  const directions = [
    direction('Smiling', 'attribute', [1, 0, 0], 0.5),
    direction('Male', 'attribute', [0.6, 0.8, 0], 1),
    direction('sefa_0', 'sefa', [0, 0, 1], 0.25),
  ]
  const attributes = ['Smiling', 'Male']
  const box = { low: -1, high: 1 }

  it('moves by amount × step and holds the other named attributes (hold null)', () => {
    const move = linearEdit({ z: [0, 0, 0], moves: { Smiling: 1 }, hold: null }, directions, attributes, box)
    expect(move.z[0]).toBeCloseTo(0.5, 5) // one step of Smiling
    expect(dot([0.6, 0.8, 0], move.z)).toBeCloseTo(0, 5) // Male held
  })

  it('holds nothing with hold []', () => {
    const move = linearEdit({ z: [0, 0, 0], moves: { Smiling: 1 }, hold: [] }, directions, attributes, box)
    expect(move.z).toEqual([0.5, 0, 0])
  })

  it('moves a discovered direction along its line, holding the named attributes', () => {
    const move = linearEdit({ z: [0.1, 0, 0], moves: { sefa_0: -2 }, hold: null }, directions, attributes, box)
    expect(move.z[2]).toBeCloseTo(-0.5, 5)
    expect(move.z[0]).toBeCloseTo(0.1, 5)
  })

  it('leaves z as it is with nothing to move or hold, and names an unknown direction', () => {
    expect(linearEdit({ z: [0.1, 0.2, 0.3], moves: {}, hold: [] }, directions, attributes, box).z).toEqual([0.1, 0.2, 0.3])
    expect(() => linearEdit({ z: [0, 0, 0], moves: { Bald: 1 }, hold: [] }, directions, attributes, box)).toThrow(/Bald/)
  })
})
