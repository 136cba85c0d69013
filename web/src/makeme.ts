/** "Make me a face that is …": the form's wishes as POST /api/sample constraints, and its answer in words. */
import type { Constraints, SampleResponse } from './api'
import { AGE } from './controls'

export type Wish = 'any' | 'yes' | 'no'

export const COUNT_MIN = 1
export const COUNT_MAX = 16
export const COUNT_DEFAULT = 8
export const AGE_MIN = 0
export const AGE_MAX = 120

/** A number input's value: a number, or '' when left empty. */
export type NumberField = number | ''

export interface MakeMeForm {
  wishes: Record<string, Wish>
  ageFrom: NumberField
  ageTo: NumberField
  count: NumberField
}

export class MakeMeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MakeMeError'
  }
}

export function emptyForm(attributes: readonly string[]): MakeMeForm {
  return {
    wishes: Object.fromEntries(attributes.filter((a) => a !== AGE).map((a) => [a, 'any' as Wish])),
    ageFrom: '',
    ageTo: '',
    count: COUNT_DEFAULT,
  }
}

function ageBound(value: NumberField, which: string): number | null {
  if (value === '') return null
  if (!Number.isFinite(value) || value < AGE_MIN || value > AGE_MAX) {
    throw new MakeMeError(`The ${which} age must be a number of years from ${AGE_MIN} to ${AGE_MAX}.`)
  }
  return value
}

/** The request for the form; throws MakeMeError saying what to fix. */
export function sampleRequest(form: MakeMeForm): { constraints: Constraints; n: number } {
  const n = form.count
  if (n === '' || !Number.isInteger(n) || n < COUNT_MIN || n > COUNT_MAX) {
    throw new MakeMeError(`“How many” must be a whole number from ${COUNT_MIN} to ${COUNT_MAX}.`)
  }
  const constraints: Constraints = {}
  for (const [name, wish] of Object.entries(form.wishes)) if (wish !== 'any') constraints[name] = wish === 'yes'
  const from = ageBound(form.ageFrom, 'lowest')
  const to = ageBound(form.ageTo, 'highest')
  if (from !== null && to !== null && from > to) throw new MakeMeError(`The age range ${from}–${to} is empty.`)
  if (from !== null || to !== null) constraints[AGE] = [from ?? AGE_MIN, to ?? AGE_MAX]
  return { constraints, n }
}

/** E.g. "6 of 8 faces as asked (64 tried, 420 ms)". */
export function sampleSummary(res: SampleResponse): string {
  return `${res.satisfied} of ${res.faces.length} faces as asked (${res.tried} tried, ${Math.round(res.ms)} ms)`
}
