/** Where Reset takes z: the model's reset face when the server gives one, else the prior's centre. */
import type { ModelInfo } from './types'
import { formatValue, meanVector, priorMean } from './zmap'

export interface ResetTarget {
  z: number[]
  /** What Reset does, for the button's title. */
  title: string
}

/** The server's reset_z when it fits the model's z contract; otherwise the prior's centre (a flat texture). */
export function resetTarget(model: ModelInfo): ResetTarget {
  const c = model.z
  const z = model.reset_z
  if (Array.isArray(z) && z.length === c.dim && z.every((v) => Number.isFinite(v) && v >= c.low && v <= c.high)) {
    return { z: z.slice(), title: `Back to model ${model.name}'s reset face: a plain, typical face` }
  }
  return {
    z: meanVector(c),
    title: `All squares to the prior's centre (z = ${formatValue(priorMean(c))}, mid grey): a flat texture, not a face`,
  }
}
