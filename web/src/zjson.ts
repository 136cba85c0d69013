/** Reading pasted z JSON: a list of numbers, or an object with a "z" list. */
import type { ZContract } from './types'

export class ZJsonError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ZJsonError'
  }
}

export function formatZJson(z: readonly number[]): string {
  return JSON.stringify(z)
}

/** Parses and checks pasted z; throws ZJsonError with a readable message. */
export function parseZJson(text: string, c: ZContract): number[] {
  const trimmed = text.trim()
  if (!trimmed) throw new ZJsonError('nothing to paste: the text is empty')
  let data: unknown
  try {
    data = JSON.parse(trimmed)
  } catch {
    throw new ZJsonError('this is not JSON: paste a list of numbers such as [0.1, -0.5, ...]')
  }
  if (data && typeof data === 'object' && !Array.isArray(data) && 'z' in data) {
    data = (data as { z: unknown }).z
  }
  if (Array.isArray(data) && data.length === 1 && Array.isArray(data[0])) data = data[0]
  if (!Array.isArray(data)) throw new ZJsonError('z must be a JSON list of numbers')
  if (data.length !== c.dim) {
    throw new ZJsonError(`z must hold ${c.dim} numbers for this model, but the pasted list holds ${data.length}`)
  }
  data.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ZJsonError(`z[${i}] is ${JSON.stringify(v)}, not a number`)
    }
    if (v < c.low || v > c.high) {
      throw new ZJsonError(`z[${i}] = ${v} is outside the prior's range [${c.low}, ${c.high}] (${c.prior})`)
    }
  })
  return data as number[]
}
