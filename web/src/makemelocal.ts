/**
 * "Make me a face that is …" in the page, for a static site with the classifier (no face server): the server's
 * `Controls.sample_where` and `steer` (src/dcgan/controls/runtime.py) with the page's seeded random numbers. Prior
 * samples are moved (least change, inside the box: `moveInBox`) half a slider step beyond each boundary they must
 * cross, generated, read by the classifier and kept if they meet every constraint; after ROUNDS batches the closest
 * misses fill the rest, marked unsatisfied.
 */
import type { Constraints, SampleResponse } from './api'
import type { RgbaImage } from './engine'
import { moveInBox } from './linear'
import { sampleZ } from './localfaces'
import { AGE } from './controls'
import type { Attributes, LinearDirection, ZContract } from './types'

export const ROUNDS = 4

/** An attribute's signed distance n·z + offset (controls.json's `boundaries`); Age's unit is `years_per_unit` years. */
export interface Boundary {
  offset: number
  years_per_unit?: number
}

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, i) => s + v * b[i], 0)

/** z moved to the side of every boundary the constraints ask for, half a step beyond it; an age range aims at its middle half. */
export function steerZ(
  z: readonly number[],
  constraints: Constraints,
  directions: ReadonlyMap<string, LinearDirection>,
  boundaries: Readonly<Record<string, Boundary>>,
  c: ZContract,
): number[] {
  const names = Object.keys(constraints)
  if (!names.length) return z.slice()
  const normals: number[][] = []
  const targets: number[] = []
  for (const name of names) {
    const direction = directions.get(name)
    const boundary = boundaries[name]
    if (!direction || !boundary) throw new Error(`unknown attribute ${name}`)
    const want = constraints[name]
    const distance = dot(z, direction.vector) + boundary.offset
    if (Array.isArray(want)) {
      const perYear = 1 / (boundary.years_per_unit ?? 1)
      const [low, high] = want
      const aim = Math.min(Math.max(distance, (low + (high - low) / 4) * perYear), (high - (high - low) / 4) * perYear)
      targets.push(aim - distance)
    } else {
      const margin = 0.5 * direction.step
      targets.push(want ? Math.max(margin - distance, 0) : Math.min(-margin - distance, 0))
    }
    normals.push(direction.vector)
  }
  return moveInBox(z, normals, targets, c.low, c.high).z
}

/** Whether a face's attributes meet every constraint (a probability > 0.5 is a yes; an age within the range). */
export function meets(attributes: Attributes, constraints: Constraints): boolean {
  return Object.entries(constraints).every(([name, want]) =>
    Array.isArray(want) ? attributes[AGE] >= want[0] && attributes[AGE] <= want[1] : attributes[name] > 0.5 === want,
  )
}

export interface PageSampler {
  contract: ZContract
  truncation: number
  directions: readonly LinearDirection[]
  boundaries: Readonly<Record<string, Boundary>>
  generate(z: number[][], signal?: AbortSignal): Promise<RgbaImage[]>
  read(images: RgbaImage[]): Promise<Attributes[]>
  encode(image: RgbaImage): Promise<string>
  seed(): number
  now?: () => number
}

/** n faces that meet `constraints`, as POST /api/sample answers. */
export async function sampleWhere(constraints: Constraints, n: number, s: PageSampler, signal?: AbortSignal): Promise<SampleResponse> {
  const started = (s.now ?? (() => performance.now()))()
  const byName = new Map(s.directions.map((d) => [d.name, d]))
  const batch = Math.max(4 * n, 32)
  const found: { z: number[]; image: RgbaImage; attributes: Attributes; satisfied: boolean }[] = []
  let tried = 0
  for (let round = 0; round < ROUNDS && found.filter((f) => f.satisfied).length < n; round++) {
    const z = Array.from({ length: batch }, () => steerZ(sampleZ(s.contract, s.seed(), s.truncation), constraints, byName, s.boundaries, s.contract))
    const images = await s.generate(z, signal)
    const attributes = await s.read(images)
    z.forEach((row, i) => found.push({ z: row, image: images[i], attributes: attributes[i], satisfied: meets(attributes[i], constraints) }))
    tried += batch
  }
  const chosen = [...found.filter((f) => f.satisfied), ...found.filter((f) => !f.satisfied)].slice(0, n)
  const faces = await Promise.all(
    chosen.map(async (f) => ({ z: f.z, image: await s.encode(f.image), attributes: f.attributes, satisfied: f.satisfied })),
  )
  const ms = (s.now ?? (() => performance.now()))() - started
  return { faces, satisfied: faces.filter((f) => f.satisfied).length, tried, ms }
}
