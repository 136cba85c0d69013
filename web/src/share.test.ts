import { describe, expect, it } from 'vitest'
import type { ZContract } from './types'
import { childLineage, crossLineage } from './breeding'
import {
  ShareError,
  buildShareHash,
  decodeLineage,
  decodeZ,
  encodeZ,
  fromBase64Url,
  parseShareHash,
  shareUrl,
  toBase64Url,
} from './share'
import { STEPS, levelToValue } from './zmap'

const uniform: ZContract = { dim: 100, prior: 'uniform', low: -1, high: 1 }
const normal: ZContract = { dim: 128, prior: 'normal', low: -3, high: 3 }

function rng(seed: number): () => number {
  return () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
}

describe('base64url', () => {
  it('round-trips all byte values and lengths', () => {
    for (let n = 0; n < 20; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) % 256)
      const text = toBase64Url(bytes)
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/)
      expect(Array.from(fromBase64Url(text))).toEqual(Array.from(bytes))
    }
  })

  it('rejects characters outside the alphabet', () => {
    expect(() => fromBase64Url('ab+c')).toThrow(ShareError)
    expect(() => fromBase64Url('a')).toThrow(ShareError)
  })
})

describe('encodeZ / decodeZ', () => {
  it('painted z (on the paint scale) uses one byte per value and decodes exactly', () => {
    for (const c of [uniform, normal]) {
      const random = rng(3)
      const z = Array.from({ length: c.dim }, () => levelToValue(Math.floor(random() * (STEPS + 1)), c))
      const code = encodeZ(z, c)
      expect(code.startsWith('q8.')).toBe(true)
      expect(code.length).toBe(3 + Math.ceil((c.dim * 4) / 3))
      expect(decodeZ(code, c)).toEqual(z)
    }
  })

  it('any other z uses float32 and decodes to the float32 values', () => {
    const random = rng(11)
    const z = Array.from({ length: 100 }, () => random() * 2 - 1)
    const code = encodeZ(z, uniform)
    expect(code.startsWith('f32.')).toBe(true)
    const back = decodeZ(code, uniform)
    back.forEach((v, i) => expect(v).toBe(Math.fround(z[i])))
  })

  it('values from a decode round-trip exactly (same numbers, same link)', () => {
    for (const c of [uniform, normal]) {
      const random = rng(7)
      const floats = Array.from({ length: c.dim }, () => c.low + (c.high - c.low) * random())
      const painted = floats.map((v, i) => (i % 2 ? levelToValue(i % (STEPS + 1), c) : v))
      for (const z of [floats, painted, new Array(c.dim).fill(0), new Array(c.dim).fill(c.high)]) {
        const code = encodeZ(z, c)
        const once = decodeZ(code, c)
        expect(encodeZ(once, c)).toBe(code)
        const twice = decodeZ(encodeZ(once, c), c)
        expect(twice).toEqual(once)
        twice.forEach((v, i) => expect(Object.is(v, once[i])).toBe(true))
      }
    }
  })

  it('sends the server the same float32 numbers as the original z', () => {
    const random = rng(5)
    const z = Array.from({ length: 100 }, () => random() * 2 - 1)
    const back = decodeZ(encodeZ(z, uniform), uniform)
    expect(Float32Array.from(back)).toEqual(Float32Array.from(z))
  })

  it('fails readably on malformed links', () => {
    const good = encodeZ(new Array(100).fill(0), uniform)
    const cases: [string, RegExp][] = [
      ['q8.', /holds 0 z values, but this model takes 100/],
      ['zz.AAAA', /format "zz" is unknown/],
      ['AAAA', /format "" is unknown/],
      ['q8.AA*A', /not valid base64url/],
      ['f32.AAAA', /cut short/],
      [good.slice(0, -4), /holds 97 z values, but this model takes 100/],
      ['q8.' + toBase64Url(new Uint8Array(100).fill(255)), /level 255 is above 254/],
      ['f32.' + toBase64Url(new Uint8Array(new Float32Array(100).fill(Number.NaN).buffer)), /outside the prior's range/],
      ['f32.' + toBase64Url(new Uint8Array(new Float32Array(100).fill(1.5).buffer)), /z\[0\] = 1.5 is outside/],
    ]
    for (const [code, message] of cases) {
      expect(() => decodeZ(code, uniform)).toThrow(ShareError)
      expect(() => decodeZ(code, uniform)).toThrow(message)
    }
  })

  it('the same q8 link gives each model its own range', () => {
    const code = encodeZ(new Array(128).fill(1), { ...normal, low: -1, high: 1 })
    expect(decodeZ(code, normal)).toEqual(new Array(128).fill(3))
  })
})

describe('share hash', () => {
  it('builds and parses the hash', () => {
    const z = new Array(100).fill(0)
    const hash = buildShareHash('celeba 64/x', z, uniform)
    expect(hash).toMatch(/^m=celeba%2064%2Fx&z=q8\.[A-Za-z0-9_-]+$/)
    const state = parseShareHash('#' + hash)
    expect(state).toEqual({ model: 'celeba 64/x', code: encodeZ(z, uniform) })
    expect(decodeZ(state!.code, uniform)).toEqual(z)
  })

  it('returns null without z, and fails on an empty z', () => {
    expect(parseShareHash('')).toBeNull()
    expect(parseShareHash('#')).toBeNull()
    expect(parseShareHash('#m=celeba64')).toBeNull()
    expect(parseShareHash('#z=q8.AAAA')).toEqual({ code: 'q8.AAAA' })
    expect(() => parseShareHash('#m=x&z=')).toThrow(ShareError)
  })

  it('replaces an old hash in the page URL', () => {
    const z = new Array(100).fill(1)
    const url = shareUrl('http://127.0.0.1:8000/?a=1#m=old&z=q8.AAAA', 'celeba64', z, uniform)
    expect(url).toBe(`http://127.0.0.1:8000/?a=1#m=celeba64&z=${encodeZ(z, uniform)}`)
  })
})

describe('lineage in the link', () => {
  const lineage = childLineage({ id: 'k3x9a2q', lineage: crossLineage([{ id: 'a1' }, { id: 'b2' }]) }, 0.3, true)

  it('rides along as l=j1.<base64url JSON> and reads back exactly', () => {
    const z = new Array(100).fill(0)
    const hash = buildShareHash('celeba64', z, uniform, lineage)
    expect(hash).toMatch(/^m=celeba64&z=q8\.[A-Za-z0-9_-]+&l=j1\.[A-Za-z0-9_-]+$/)
    const state = parseShareHash('#' + hash)!
    expect(state.code).toBe(encodeZ(z, uniform))
    expect(decodeLineage(state.lineage!)).toEqual(lineage)
  })

  it('old links (without l) open as before, with no lineage', () => {
    const z = new Array(100).fill(0)
    expect(buildShareHash('celeba64', z, uniform)).toBe(`m=celeba64&z=${encodeZ(z, uniform)}`)
    expect(parseShareHash(`#m=celeba64&z=${encodeZ(z, uniform)}`)).toEqual({ model: 'celeba64', code: encodeZ(z, uniform) })
  })

  it('a damaged lineage fails readably', () => {
    const json = (data: unknown) => 'j1.' + toBase64Url(new TextEncoder().encode(JSON.stringify(data)))
    const cases: [string, RegExp][] = [
      ['x9.AAAA', /lineage format "x9" is unknown/],
      ['j1.*', /not valid base64url/],
      ['j1.' + toBase64Url(new TextEncoder().encode('{oops')), /lineage is not JSON/],
      [json({ op: 'cross', parents: [{ id: 'a' }] }), /lineage is not valid: a cross has 2 to 8 parents/],
    ]
    for (const [code, message] of cases) expect(() => decodeLineage(code)).toThrow(message)
  })
})
