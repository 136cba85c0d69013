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
  image_size: number
  channels: number
  provenance: Record<string, unknown>
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
