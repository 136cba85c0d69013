/**
 * The DOM's canvas work for faces: RGBA pixels as PNG (data URLs for faces kept in the
 * history), and the painter of the face on show (facescreen.ts). Tests replace this
 * module with a fake where they need it (jsdom has no canvas).
 */
import type { RgbaImage } from './engine'
import type { Painter } from './facescreen'
import type { Encoder } from './localfaces'

function imageData(image: RgbaImage): ImageData {
  return new ImageData(image.data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height)
}

function canvasOf(image: RgbaImage): HTMLCanvasElement {
  const canvas = document.createElement('canvas')
  canvas.width = image.width
  canvas.height = image.height
  const context = canvas.getContext('2d')
  if (!context) throw new Error('this browser cannot draw on a canvas')
  context.putImageData(imageData(image), 0, 0)
  return canvas
}

export const canvasEncoder: Encoder = {
  png(image) {
    return new Promise((resolve, reject) =>
      canvasOf(image).toBlob((blob) => (blob ? resolve(blob) : reject(new Error('could not make a PNG'))), 'image/png'),
    )
  },
  async dataUrl(image) {
    return canvasOf(image).toDataURL('image/png')
  },
}

export const domPainter: Painter = {
  async decode(picture) {
    if (typeof picture !== 'string') return createImageBitmap(picture)
    const img = new Image()
    img.src = picture
    await img.decode()
    return img
  },

  draw(canvas, image) {
    const [width, height] = image instanceof HTMLImageElement ? [image.naturalWidth, image.naturalHeight] : [image.width, image.height]
    if (canvas.width !== width) canvas.width = width // (a new size clears the canvas)
    if (canvas.height !== height) canvas.height = height
    const context = canvas.getContext('2d')
    if (!context) return
    if ('data' in image) {
      context.putImageData(imageData(image), 0, 0)
    } else {
      context.clearRect(0, 0, width, height)
      context.drawImage(image, 0, 0)
    }
  },

  release(image) {
    if (image instanceof ImageBitmap) image.close()
  },
}
