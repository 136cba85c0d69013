// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RgbaImage } from './engine'
import { type Decoded, FaceScreen, type Painter, afterPaint, pictureUrl } from './facescreen'

const pixels = (r: number): RgbaImage => ({ width: 1, height: 1, data: Uint8ClampedArray.from([r, 0, 0, 255]) })

/** A painter whose decodes wait until `finish(picture)`; draws are recorded by name. */
function fakePainter() {
  const drawn: string[] = []
  const released: string[] = []
  const waiting = new Map<Blob | string, { resolve: (d: Decoded) => void; reject: (e: unknown) => void }>()
  const name = (image: RgbaImage | Decoded) => ('data' in image ? `pixels:${image.data[0]}` : (image as unknown as { name: string }).name)
  const painter: Painter = {
    decode: (picture) => new Promise((resolve, reject) => waiting.set(picture, { resolve, reject })),
    draw: (_canvas, image) => drawn.push(name(image)),
    release: (image) => released.push(name(image)),
  }
  const finish = async (picture: Blob | string, ok = true) => {
    const w = waiting.get(picture)!
    if (ok) w.resolve({ name: `decoded:${typeof picture === 'string' ? picture : 'blob'}` } as unknown as Decoded)
    else w.reject(new Error('not an image'))
    await Promise.resolve()
    await Promise.resolve()
  }
  return { painter, drawn, released, finish }
}

describe('FaceScreen', () => {
  it('draws pixels before show() returns, and counts every drawing on the canvas', () => {
    const { painter, drawn } = fakePainter()
    const screen = new FaceScreen(painter)
    const canvas = document.createElement('canvas')
    screen.attach(canvas)
    void screen.show(pixels(7))
    expect(drawn).toEqual(['pixels:7'])
    expect(canvas.dataset.drawn).toBe('1')
    void screen.show(pixels(8))
    expect(canvas.dataset.drawn).toBe('2')
  })

  it('draws a PNG once decoded, unless a newer picture came meanwhile', async () => {
    const { painter, drawn, released, finish } = fakePainter()
    const screen = new FaceScreen(painter)
    screen.attach(document.createElement('canvas'))
    const blob = new Blob(['png'])
    const shown = screen.show(blob)
    expect(drawn).toEqual([])
    void screen.show('data:b')
    expect(screen.picture).toBe('data:b')
    await finish('data:b')
    await finish(blob) // late: not drawn over the newer face, but freed
    await shown
    expect(drawn).toEqual(['decoded:data:b'])
    expect(released).toEqual(['decoded:data:b', 'decoded:blob'])
  })

  it('keeps the last face when a picture does not decode', async () => {
    const { painter, drawn, finish } = fakePainter()
    const screen = new FaceScreen(painter)
    screen.attach(document.createElement('canvas'))
    void screen.show(pixels(1))
    void screen.show('data:broken')
    await finish('data:broken', false)
    expect(drawn).toEqual(['pixels:1'])
  })

  it('draws the picture on show on a canvas attached later, and nothing without one', () => {
    const { painter, drawn } = fakePainter()
    const screen = new FaceScreen(painter)
    void screen.show(pixels(3))
    expect(drawn).toEqual([])
    const canvas = document.createElement('canvas')
    screen.attach(canvas)
    screen.attach(canvas) // the same canvas: no new drawing
    expect(drawn).toEqual(['pixels:3'])
    expect(canvas.dataset.drawn).toBe('1')
  })
})

describe('pictureUrl', () => {
  it('keeps a URL, reads a PNG as a data URL and encodes pixels', async () => {
    const encode = vi.fn(async (i: RgbaImage) => `data:image/png;base64,PIX${i.data[0]}`)
    expect(await pictureUrl('data:image/png;base64,A', encode)).toBe('data:image/png;base64,A')
    expect(await pictureUrl(new Blob(['png'], { type: 'image/png' }), encode)).toBe('data:image/png;base64,cG5n')
    expect(await pictureUrl(pixels(9), encode)).toBe('data:image/png;base64,PIX9')
  })
})

describe('afterPaint', () => {
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('runs once, in a task after the next frame, or after the fallback when no frame comes', async () => {
    vi.useFakeTimers()
    const frames: (() => void)[] = []
    vi.stubGlobal('requestAnimationFrame', (f: () => void) => frames.push(f))
    const fn = vi.fn()
    afterPaint(fn)
    await vi.advanceTimersByTimeAsync(50)
    expect(fn).not.toHaveBeenCalled() // no frame yet
    frames.shift()!()
    expect(fn).not.toHaveBeenCalled() // the frame's callbacks first, then a task
    await vi.advanceTimersByTimeAsync(0)
    expect(fn).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(200)
    expect(fn).toHaveBeenCalledTimes(1)

    const hidden = vi.fn()
    afterPaint(hidden, 100)
    await vi.advanceTimersByTimeAsync(100)
    expect(hidden).toHaveBeenCalledTimes(1)
  })
})
