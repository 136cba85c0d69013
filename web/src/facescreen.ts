/**
 * The face on show, drawn on a canvas (issue #25): the browser engine's pixels at once
 * (no PNG to encode, no image to decode), a PNG of the server or a data URL of a face
 * seen before once decoded; the newest picture wins. The canvas is the model's size,
 * enlarged by CSS (pixelated). Each drawing bumps the canvas' `data-drawn` counter,
 * which tests and benchmarks/browser.py watch for a new face.
 */
import { blobToDataUrl } from './blob'
import type { RgbaImage } from './engine'

/** A face's picture: pixels from the browser's engine, a PNG from the server, or an image URL. */
export type Picture = RgbaImage | Blob | string

/** A decoded PNG, ready to draw. */
export type Decoded = ImageBitmap | HTMLImageElement

/** What draws on the canvas (canvas.ts's `domPainter` in the page). */
export interface Painter {
  decode(picture: Blob | string): Promise<Decoded>
  /** Draws at the canvas' origin, sizing the canvas to the picture. */
  draw(canvas: HTMLCanvasElement, image: RgbaImage | Decoded): void
  /** Frees a decoded picture (drawn, or not wanted any more). */
  release(image: Decoded): void
}

export function isPixels(picture: Picture): picture is RgbaImage {
  return typeof picture === 'object' && !(picture instanceof Blob)
}

/** A picture as a durable URL, for the history and the gallery: a URL as it is, a PNG read, pixels encoded. */
export function pictureUrl(picture: Picture, encode: (image: RgbaImage) => Promise<string>): Promise<string> {
  if (typeof picture === 'string') return Promise.resolve(picture)
  return picture instanceof Blob ? blobToDataUrl(picture) : encode(picture)
}

export class FaceScreen {
  private canvas: HTMLCanvasElement | null = null
  private shown: Picture | null = null
  private seq = 0
  private drawn = 0

  constructor(private readonly painter: Painter) {}

  /** The picture on show (drawn, or being decoded), null before the first. */
  get picture(): Picture | null {
    return this.shown
  }

  /** The canvas to draw on (null: none now); it gets the picture on show at once. */
  attach(canvas: HTMLCanvasElement | null): void {
    if (canvas === this.canvas) return
    this.canvas = canvas
    if (this.shown !== null) void this.show(this.shown)
  }

  /** Shows a picture: pixels are drawn before this returns, a PNG once decoded unless a newer picture came meanwhile. */
  async show(picture: Picture): Promise<void> {
    this.shown = picture
    const seq = ++this.seq
    if (isPixels(picture)) return this.paint(picture)
    let image: Decoded
    try {
      image = await this.painter.decode(picture)
    } catch {
      return // a picture that does not decode leaves the last face on show
    }
    if (seq === this.seq) this.paint(image)
    this.painter.release(image)
  }

  private paint(image: RgbaImage | Decoded): void {
    if (!this.canvas) return
    this.painter.draw(this.canvas, image)
    this.canvas.dataset.drawn = String(++this.drawn)
  }
}

/**
 * Runs `fn` once the next frame is on its way to the screen (a task after the frame's
 * animation callbacks), or after `fallbackMs` where no frame comes (a hidden page):
 * work not needed for the pixels waits until they are shown.
 */
export function afterPaint(fn: () => void, fallbackMs = 100): void {
  let done = false
  const run = () => {
    if (done) return
    done = true
    fn()
  }
  globalThis.requestAnimationFrame?.(() => setTimeout(run, 0))
  setTimeout(run, fallbackMs)
}
