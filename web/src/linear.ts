/**
 * Slider edits in the page, for a static site (no face server): z moved straight along the directions, inside the
 * prior's box. A port of `src/dcgan/controls/linear.py` (`move_in_box`) and of `Controls.linear`
 * (`src/dcgan/controls/runtime.py`); `linear.fixture.json` holds Python's answers, which the tests compare with.
 * The server solves named attributes per face instead (it has the generator and the classifier at hand).
 */
import type { EditRequest } from './api'
import type { LinearDirection } from './types'

const ROUNDS = 8
const TOLERANCE = 1e-4
const PIVOT = 1e-12

/** z after a move, the share of the asked move the box took (0–1), and the coordinates it left at a bound. */
export interface Move {
  z: number[]
  lost: number
  saturated: number
}

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, v, i) => sum + v * b[i], 0)

/**
 * Solves the small symmetric system g·y = t (Gauss–Jordan with partial pivoting). A pivot that vanishes (rows that
 * repeat on the free coordinates) leaves its unknown at 0, where Python's pseudo-inverse gives the least-norm answer.
 */
function solve(g: number[][], t: number[]): number[] {
  const n = t.length
  const a = g.map((row, i) => [...row, t[i]])
  const scale = Math.max(...g.map((row, i) => Math.abs(row[i])), 0)
  const used: boolean[] = new Array(n).fill(false)
  const pivotRow: number[] = new Array(n).fill(-1)
  for (let col = 0; col < n; col++) {
    let best = -1
    for (let r = 0; r < n; r++) if (!used[r] && (best < 0 || Math.abs(a[r][col]) > Math.abs(a[best][col]))) best = r
    if (best < 0 || Math.abs(a[best][col]) <= PIVOT * scale) continue
    used[best] = true
    pivotRow[col] = best
    for (let r = 0; r < n; r++) {
      if (r === best || a[r][col] === 0) continue
      const f = a[r][col] / a[best][col]
      for (let c = col; c <= n; c++) a[r][c] -= f * a[best][c]
    }
  }
  return pivotRow.map((r, col) => (r < 0 ? 0 : a[r][n] / a[r][col]))
}

/** δ of least norm on the free coordinates with normals·δ = targets: δ = Nᵀ (N Nᵀ)⁻¹ t. */
function minNormStep(normals: readonly number[][], targets: readonly number[], free: readonly boolean[]): number[] {
  const masked = normals.map((n) => n.map((v, j) => (free[j] ? v : 0)))
  const gram = masked.map((a) => masked.map((b) => dot(a, b)))
  const y = solve(gram, [...targets])
  return free.map((_, j) => masked.reduce((sum, n, i) => sum + n[j] * y[i], 0))
}

const atBound = (v: number, low: number, high: number): boolean => v <= low || v >= high

/**
 * z moved so that normals·(z′ − z) = targets as nearly as the box [low, high] allows: a coordinate that would leave
 * the box stops at the bound and the rest of the move is solved again on the coordinates still free.
 */
export function moveInBox(z: readonly number[], normals: readonly number[][], targets: readonly number[], low: number, high: number): Move {
  const moved = z.slice()
  const free = z.map(() => true)
  const change = (): number[] => moved.map((v, j) => v - z[j])
  for (let round = 0; round < ROUNDS; round++) {
    const delta = change()
    const remaining = targets.map((t, i) => t - dot(normals[i], delta))
    if (remaining.every((r) => Math.abs(r) < TOLERANCE)) break
    if (!free.some(Boolean)) break
    const step = minNormStep(normals, remaining, free)
    for (let j = 0; j < moved.length; j++) {
      if (free[j]) moved[j] += step[j]
      if (moved[j] < low || moved[j] > high) {
        free[j] = false
        moved[j] = Math.min(high, Math.max(low, moved[j]))
      }
    }
  }
  const delta = change()
  const missed = Math.hypot(...targets.map((t, i) => t - dot(normals[i], delta)))
  const requested = Math.hypot(...targets)
  return {
    z: moved.map(Math.fround),
    lost: requested > 0 ? Math.min(missed / requested, 1) : 0,
    saturated: moved.filter((v, j) => atBound(v, low, high) && !atBound(z[j], low, high)).length,
  }
}

/**
 * An edit as the server's straight path makes it (`Controls.linear`): each moved direction by its amount × step,
 * the held attributes (hold null: every named attribute not moved) kept at 0.
 */
export function linearEdit(
  request: Omit<EditRequest, 'model'>,
  directions: readonly LinearDirection[],
  attributes: readonly string[],
  box: { low: number; high: number },
): Move {
  const byName = new Map(directions.map((d) => [d.name, d]))
  const find = (name: string): LinearDirection => {
    const d = byName.get(name)
    if (!d) throw new Error(`no direction named ${name}`)
    return d
  }
  const names = Object.keys(request.moves)
  const hold = (request.hold ?? attributes).filter((name) => !names.includes(name))
  const normals = [...names, ...hold].map((name) => find(name).vector)
  const targets = [...names.map((name) => request.moves[name] * find(name).step), ...hold.map(() => 0)]
  if (!normals.length) return { z: request.z.slice(), lost: 0, saturated: 0 }
  return moveInBox(request.z, normals, targets, box.low, box.high)
}
