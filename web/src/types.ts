import type { FaceService } from './api'
/** The z contract of a model, as given by GET /api/models. */
export interface ZContract {
  dim: number
  prior: 'uniform' | 'normal' | string
  low: number
  high: number
}

export interface ModelInfo {
  name: string
  z: ZContract
  /** The model's default truncation ψ in (0, 1] (1: the prior itself), chosen by measurement. */
  truncation?: number
  image_size: number
  channels: number
  summary?: ModelSummary
  /** The z the page's Reset returns to (a plain, typical face), when the server gives one. */
  reset_z?: number[]
  /** The generator as ONNX, to run in the browser, when the server (or static site) offers it. */
  web?: WebModel
  /** A static site's sliders with their vectors (`dcgan site` writes controls.json), when the model has them. */
  controls?: string | null
}

/** A model's generator as ONNX: takes `input` float32 [N, z.dim], gives `output` float32 images in `range`. */
export interface WebModel {
  url: string
  bytes: number
  sha256: string
  input: string
  output: string
  layout: 'NHWC' | 'NCHW'
  range: [number, number]
}

/** A way to move through z (GET /api/directions): a named attribute, or one discovered without labels (SeFa). */
export interface Direction {
  name: string
  kind: 'attribute' | 'sefa'
  label: string
  /** How the direction was found (shown as a tooltip). */
  how: string
  /** The length in z of one slider step. */
  step: number
  description: string
}

/** A static site's attribute classifier (ONNX): image [N, 64, 64, 3] RGB 0–255 → `attributes` logits, `age` years. */
export interface ClassifierInfo {
  url: string
  bytes: number
  sha256: string
  /** The logits' order. */
  attributes: string[]
  /** Calibration: the raw probability that reads as 0.5, by attribute (`runtime.calibrate`). */
  thresholds: Record<string, number>
}

/** A direction of a static site's controls.json: a slider with its unit vector in z. */
export interface LinearDirection extends Direction {
  vector: number[]
}

/** The classifier's reading of a face: binary attributes as probabilities in [0, 1], "Age" in years. */
export type Attributes = Record<string, number>

/** Where a model came from, in plain fields (GET /api/models); null where the server does not know. */
export interface ModelSummary {
  data: string | null
  images_seen: number | null
  train_hours: number | null
  fid: number | null
  fid_extractor: string | null
  fid_split: string | null
}

export interface ModelsResponse {
  default: string
  models: ModelInfo[]
}

/** A generated face: the z it came from and an image URL (data URL or object URL). */
export interface Face {
  model: string
  z: number[]
  src: string
}

/** What the page gives a face panel (morph, arithmetic): the model, the face on show, and faces by key (drag and drop). */
export interface FacePanelProps {
  model: string
  current: Face | null
  lookup: (key: string) => Face | undefined
  /** Who makes the faces (default: the server's API; the local engine when the model runs in the browser). */
  faces?: FaceService
}

/** What a face panel tells the page: load a face into the editor, or show an error. */
export interface FacePanelEmits {
  load: [face: Face]
  error: [message: string]
}

/** A face found in a photo (POST /api/invert): its box [x, y, w, h] in the photo's pixels and the detector's score. */
export interface FoundFace {
  box: [number, number, number, number]
  score: number
}

/** The first line of POST /api/invert: every face found (largest first), the one used, and its aligned crop. */
export interface FacesEvent {
  event: 'faces'
  faces: FoundFace[]
  chosen: number
  crop: string
  /** [width, height] of the photo, in the pixels of the boxes. */
  photo_size: [number, number]
}

/** Progress of the optimisation of z (zero or more lines). */
export interface InvertProgressEvent {
  event: 'progress'
  step: number
  steps: number
}

/** The last line on success: the z found, its face, the aligned crop it was fitted to, and how close it came. */
export interface DoneEvent {
  event: 'done'
  z: number[]
  image: string
  crop: string
  scores: { psnr: number; ssim: number }
  seconds: number
}

/** A failure after the stream started. */
export interface InvertErrorEvent {
  event: 'error'
  detail: string
}

export type InvertEvent = FacesEvent | InvertProgressEvent | DoneEvent | InvertErrorEvent
