/**
 * The face's attributes read in the page, for a static site (no face server): the bundle's classifier as ONNX
 * (`dcgan.controls.web`, written by `dcgan site`) on WebAssembly, its probabilities calibrated as the server's
 * `runtime.calibrate` does.
 */
import { type CacheLike, type RgbaImage, type Runtime, downloadModel } from './engine'
import type { Attributes, ClassifierInfo } from './types'
import { AGE } from './controls'

const SIDE = 64
const EPS = 1e-6

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x))
const logit = (p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p))
  return Math.log(q) - Math.log1p(-q)
}

/** One face's attributes from its logits and age: probabilities shifted in log-odds so that each threshold reads 0.5. */
export function calibrated(logits: ArrayLike<number>, age: number, info: Pick<ClassifierInfo, 'attributes' | 'thresholds'>): Attributes {
  const out: Attributes = {}
  info.attributes.forEach((name, i) => {
    const p = sigmoid(logits[i])
    const threshold = info.thresholds[name]
    out[name] = threshold === undefined ? p : sigmoid(logit(p) - logit(threshold))
  })
  out[AGE] = age
  return out
}

/** RGBA pictures as the classifier's input: N × 64 × 64 × 3 RGB values 0–255. */
export function classifierInput(images: readonly RgbaImage[]): Float32Array {
  const input = new Float32Array(images.length * SIDE * SIDE * 3)
  images.forEach((image, n) => {
    if (image.width !== SIDE || image.height !== SIDE) throw new Error(`the classifier reads ${SIDE}×${SIDE} faces`)
    for (let i = 0; i < SIDE * SIDE; i++) input.set(image.data.subarray(4 * i, 4 * i + 3), (n * SIDE * SIDE + i) * 3)
  })
  return input
}

/** A reader of faces' attributes; the classifier is downloaded and opened on the first call (again after a failure). */
export function localReader(info: ClassifierInfo, runtime: Runtime, cache: () => Promise<CacheLike | null>) {
  let session: ReturnType<Runtime['createClassifier']> | null = null
  return async (images: readonly RgbaImage[]): Promise<Attributes[]> => {
    const opening = (session ??= (async () => runtime.createClassifier(await downloadModel(info, { cache: await cache() })))())
    opening.catch(() => {
      if (session === opening) session = null
    })
    const out = await (await opening).run(classifierInput(images), images.length)
    const a = info.attributes.length
    const logits = Array.from(out.attributes, Number)
    return images.map((_, n) => calibrated(logits.slice(n * a, (n + 1) * a), Number(out.age[n]), info))
  }
}
