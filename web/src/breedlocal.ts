/**
 * Breeding in the page, for a static site (no face server): the server's `Controls.children` without the identity
 * lock (its lock needs the per-face solve) and `Controls.cross` (src/dcgan/controls/runtime.py), with the page's
 * seeded generator: the same maths, other random numbers than NumPy's.
 */
import type { FacesResponse } from './api'
import type { ZContract } from './types'
import { seededRandom } from './localfaces'
import { drawPrior } from './zmap'

const centreOf = (c: ZContract): number => (c.prior === 'uniform' ? (c.low + c.high) / 2 : 0)

/** A value folded back into [low, high] at the bounds (`linear.reflect`). */
export function reflect(value: number, low: number, high: number): number {
  const width = high - low
  const folded = (((value - low) % (2 * width)) + 2 * width) % (2 * width)
  return low + (folded > width ? 2 * width - folded : folded)
}

/** n variations of z: z + amount·(a prior draw − its centre), folded back into the box. */
export function childrenZ(z: readonly number[], n: number, amount: number, c: ZContract, seed: number): number[][] {
  if (!(amount > 0 && amount <= 1)) throw new Error(`amount must be in (0, 1], got ${amount}`)
  const random = seededRandom(seed)
  const centre = centreOf(c)
  return Array.from({ length: n }, () =>
    z.map((v) => Math.fround(reflect(v + amount * (drawPrior(c, random) - centre), c.low, c.high))),
  )
}

/**
 * n children of parents by per-direction mixing: along each row of `basis` (orthonormal, SeFa's directions) a child
 * takes one parent's coordinate, each parent as likely; clipped into the box.
 */
export function crossZ(parents: readonly number[][], n: number, basis: readonly number[][], c: ZContract, seed: number): number[][] {
  if (parents.length < 2) throw new Error('a cross takes at least 2 parents')
  const random = seededRandom(seed)
  const centre = centreOf(c)
  const coords = parents.map((p) => basis.map((row) => row.reduce((s, b, j) => s + b * (p[j] - centre), 0)))
  return Array.from({ length: n }, () => {
    const mixed = new Array<number>(c.dim).fill(centre)
    basis.forEach((row, d) => {
      const coord = coords[Math.floor(random() * parents.length)][d]
      row.forEach((b, j) => (mixed[j] += coord * b))
    })
    return mixed.map((v) => Math.fround(Math.min(c.high, Math.max(c.low, v))))
  })
}

/** What the breeding panel asks for, answered in the page: z from the functions above, faces from `faces`. */
export function localBreeder(
  contract: ZContract,
  basis: readonly number[][],
  faces: (z: number[][], signal?: AbortSignal) => Promise<string[]>,
  seed: () => number,
) {
  const withFaces = async (z: number[][], signal?: AbortSignal): Promise<FacesResponse> => {
    const images = await faces(z, signal)
    return { faces: z.map((row, i) => ({ z: row, image: images[i] })) }
  }
  return {
    children: (body: { z: number[]; n: number; amount: number }, signal?: AbortSignal) =>
      withFaces(childrenZ(body.z, body.n, body.amount, contract, seed()), signal),
    cross: (body: { parents: number[][]; n: number }, signal?: AbortSignal) =>
      withFaces(crossZ(body.parents, body.n, basis, contract, seed()), signal),
  }
}

export type Breeder = ReturnType<typeof localBreeder>
