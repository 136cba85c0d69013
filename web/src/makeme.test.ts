import { describe, expect, it } from 'vitest'
import { MakeMeError, emptyForm, sampleRequest, sampleSummary } from './makeme'

describe('make me a face', () => {
  it('asks for the wished attributes only, and the age range', () => {
    const form = emptyForm(['Smiling', 'Male', 'Eyeglasses', 'Age'])
    expect(form.wishes).toEqual({ Smiling: 'any', Male: 'any', Eyeglasses: 'any' })
    expect(sampleRequest(form)).toEqual({ constraints: {}, n: 8 })
    form.wishes.Smiling = 'yes'
    form.wishes.Male = 'no'
    form.ageFrom = 30
    form.ageTo = 40
    form.count = 4
    expect(sampleRequest(form)).toEqual({ constraints: { Smiling: true, Male: false, Age: [30, 40] }, n: 4 })
    form.ageTo = ''
    expect(sampleRequest(form).constraints.Age).toEqual([30, 120])
  })

  it('says what to fix', () => {
    const form = emptyForm(['Smiling'])
    const bad: [Partial<typeof form>, RegExp][] = [
      [{ count: 0 }, /whole number from 1 to 16/],
      [{ count: 17 }, /whole number from 1 to 16/],
      [{ count: '' }, /whole number from 1 to 16/],
      [{ count: 2.5 }, /whole number from 1 to 16/],
      [{ ageFrom: -1 }, /lowest age must be a number of years from 0 to 120/],
      [{ ageFrom: 50, ageTo: 40 }, /age range 50–40 is empty/],
    ]
    for (const [change, message] of bad) {
      expect(() => sampleRequest({ ...form, ...change })).toThrow(MakeMeError)
      expect(() => sampleRequest({ ...form, ...change })).toThrow(message)
    }
  })

  it('sums up the answer', () => {
    const face = { z: [0], image: 'data:', attributes: {}, satisfied: true }
    expect(sampleSummary({ faces: [face, face], satisfied: 1, tried: 64, ms: 420.4 })).toBe('1 of 2 faces as asked (64 tried, 420 ms)')
  })
})
