/**
 * Share links: the URL hash carries the model name, z and, for a bred face, its lineage.
 *
 *   #m=<model name, URI-encoded>&z=<code>[&l=<lineage>]
 *
 * <code> is one of
 *   q8.<base64url>   one byte per value: value = low + (high - low) * byte / 254
 *                    (used when every value sits exactly on that paint scale)
 *   f32.<base64url>  4 bytes per value, IEEE float32 little endian (everything else;
 *                    the server computes in float32, so the face is the same)
 *
 * Decoding gives exactly the numbers that the link encodes, and encoding those
 * numbers again gives the same link.
 *
 * <lineage> (optional; links without it open as before) is
 *   j1.<base64url>   the lineage (breeding.ts) as UTF-8 JSON
 */
import { type Lineage, toLineage } from './breeding'
import type { ZContract } from './types'
import { STEPS, isOnLevel, levelToValue, valueToLevel } from './zmap'

export class ShareError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ShareError'
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/

export function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function fromBase64Url(text: string): Uint8Array {
  if (!B64URL.test(text) || text.length % 4 === 1) throw new ShareError('the link is damaged: z is not valid base64url')
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)
  let binary: string
  try {
    binary = atob(padded)
  } catch {
    throw new ShareError('the link is damaged: z is not valid base64url')
  }
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** Encodes z compactly and losslessly (for the float32 model). */
export function encodeZ(z: readonly number[], c: ZContract): string {
  if (z.every((v) => Number.isFinite(v) && isOnLevel(v, c))) {
    return 'q8.' + toBase64Url(Uint8Array.from(z, (v) => valueToLevel(v, c)))
  }
  const data = new DataView(new ArrayBuffer(z.length * 4))
  z.forEach((v, i) => data.setFloat32(i * 4, v, true))
  return 'f32.' + toBase64Url(new Uint8Array(data.buffer))
}

/** Decodes a z code for a model's contract; throws ShareError with a readable message. */
export function decodeZ(code: string, c: ZContract): number[] {
  const dot = code.indexOf('.')
  const kind = dot < 0 ? '' : code.slice(0, dot)
  const bytes = fromBase64Url(dot < 0 ? code : code.slice(dot + 1))
  let z: number[]
  if (kind === 'q8') {
    z = Array.from(bytes, (b) => {
      if (b > STEPS) throw new ShareError(`the link is damaged: level ${b} is above ${STEPS}`)
      return levelToValue(b, c)
    })
  } else if (kind === 'f32') {
    if (bytes.length % 4) throw new ShareError('the link is damaged: the float32 data is cut short')
    const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    z = Array.from({ length: bytes.length / 4 }, (_, i) => data.getFloat32(i * 4, true))
  } else {
    throw new ShareError(`the link's z format ${JSON.stringify(kind)} is unknown (expected q8 or f32)`)
  }
  if (z.length !== c.dim) {
    throw new ShareError(`the link holds ${z.length} z values, but this model takes ${c.dim}`)
  }
  z.forEach((v, i) => {
    if (!Number.isFinite(v) || v < c.low || v > c.high) {
      throw new ShareError(`the link's z[${i}] = ${v} is outside the prior's range [${c.low}, ${c.high}]`)
    }
  })
  return z
}

/** Encodes a lineage for a link. */
export function encodeLineage(lineage: Lineage): string {
  return 'j1.' + toBase64Url(new TextEncoder().encode(JSON.stringify(lineage)))
}

/** Decodes a link's lineage; throws ShareError with a readable message. */
export function decodeLineage(code: string): Lineage {
  if (!code.startsWith('j1.')) throw new ShareError(`the link's lineage format ${JSON.stringify(code.split('.')[0])} is unknown (expected j1)`)
  let data: unknown
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64Url(code.slice(3))))
  } catch (error) {
    if (error instanceof ShareError) throw error
    throw new ShareError('the link is damaged: its lineage is not JSON')
  }
  try {
    return toLineage(data)
  } catch (error) {
    throw new ShareError(`the link's lineage is not valid: ${(error as Error).message}`)
  }
}

export interface ShareState {
  model?: string
  code: string
  /** The lineage code, when the link has one (decode it with decodeLineage). */
  lineage?: string
}

/** The hash (without '#') for a model and z (and the face's lineage, when it was bred). */
export function buildShareHash(model: string, z: readonly number[], c: ZContract, lineage?: Lineage): string {
  const hash = `m=${encodeURIComponent(model)}&z=${encodeZ(z, c)}`
  return lineage ? `${hash}&l=${encodeLineage(lineage)}` : hash
}

/** Reads a location hash ('#m=..&z=..' or without '#'); null when it carries no z. */
export function parseShareHash(hash: string): ShareState | null {
  const text = hash.replace(/^#/, '')
  if (!text) return null
  const params = new URLSearchParams(text)
  const code = params.get('z')
  if (code === null) return null
  if (!code) throw new ShareError('the link is damaged: z is empty')
  const model = params.get('m')
  const lineage = params.get('l')
  return { ...(model ? { model } : {}), code, ...(lineage ? { lineage } : {}) }
}

/** A full share URL for the current page. */
export function shareUrl(base: string, model: string, z: readonly number[], c: ZContract, lineage?: Lineage): string {
  return `${base.replace(/#.*$/, '')}#${buildShareHash(model, z, c, lineage)}`
}
