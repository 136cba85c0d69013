import { describe, expect, it } from 'vitest'
import { SEED_MAX, parseSeed } from './seed'

describe('parseSeed', () => {
  it('takes whole numbers from 0 to 2^32 - 1', () => {
    expect(parseSeed(' 42 ')).toBe(42)
    expect(parseSeed('0')).toBe(0)
    expect(parseSeed(String(SEED_MAX))).toBe(SEED_MAX)
    for (const bad of ['', '-1', '1.5', 'abc', '1e3', String(SEED_MAX + 1)]) {
      expect(() => parseSeed(bad)).toThrow(/a seed is a whole number from 0 to 4294967295/)
    }
  })
})
