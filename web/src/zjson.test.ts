import { describe, expect, it } from 'vitest'
import type { ZContract } from './types'
import { ZJsonError, formatZJson, parseZJson } from './zjson'

const uniform: ZContract = { dim: 4, prior: 'uniform', low: -1, high: 1 }
const normal: ZContract = { dim: 3, prior: 'normal', low: -3, high: 3 }

describe('paste z', () => {
  it('accepts a list, {"z": list} and a batch of one', () => {
    expect(parseZJson('[0, 0.5, -1, 1]', uniform)).toEqual([0, 0.5, -1, 1])
    expect(parseZJson(' {"z": [0, 0.5, -1, 1], "seed": 3} ', uniform)).toEqual([0, 0.5, -1, 1])
    expect(parseZJson('[[2.5, -3, 0]]', normal)).toEqual([2.5, -3, 0])
  })

  it('round-trips copied z exactly', () => {
    const z = [0.1234567890123, -0.9999999, 1, -1]
    expect(parseZJson(formatZJson(z), uniform)).toEqual(z)
  })

  it.each([
    ['', /empty/],
    ['hello', /not JSON/],
    ['{"a": 1}', /list of numbers/],
    ['[0, 0, 0]', /must hold 4 numbers for this model, but the pasted list holds 3/],
    ['[0, 0, 0, 0, 0]', /holds 5/],
    ['[0, "1", 0, 0]', /z\[1\] is "1", not a number/],
    ['[0, null, 0, 0]', /z\[1\] is null/],
    ['[0, 0, 1.5, 0]', /z\[2\] = 1.5 is outside the prior's range \[-1, 1\]/],
  ])('rejects %j with a readable message', (text, message) => {
    expect(() => parseZJson(text, uniform)).toThrow(ZJsonError)
    expect(() => parseZJson(text, uniform)).toThrow(message)
  })

  it('checks the range of the model at hand', () => {
    expect(parseZJson('[2.5, -3, 0]', normal)).toEqual([2.5, -3, 0])
    expect(() => parseZJson('[3.5, 0, 0]', normal)).toThrow(/outside the prior's range \[-3, 3\] \(normal\)/)
  })
})
