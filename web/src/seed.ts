/** The seed box: a seed of GET /api/random, a whole number from 0 to 2^32 − 1. */
export const SEED_MAX = 2 ** 32 - 1

/** The seed typed, or an Error saying what is wrong with it. */
export function parseSeed(text: string): number {
  const t = text.trim()
  if (!/^\d+$/.test(t) || Number(t) > SEED_MAX) throw new Error(`a seed is a whole number from 0 to ${SEED_MAX}, not “${t}”`)
  return Number(t)
}
