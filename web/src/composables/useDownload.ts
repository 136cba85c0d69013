/** Download of the face on show as a PNG of about 512 px, upscaled by whoever makes the faces (the server, or
 * the browser's engine: web/src/enlarge.ts resamples as the server does). */
import { computed, ref, type Ref } from 'vue'
import { api, errorMessage, type FaceService } from '../api'
import { saveBlob } from '../blob'
import type { Messages } from './useMessages'

export const DOWNLOAD_SIDE = 512

/** The whole-number upscale (1 to 8) that brings `imageSize` closest to DOWNLOAD_SIDE from below. */
export function downloadScale(imageSize: number): number {
  return Math.max(1, Math.min(8, Math.floor(DOWNLOAD_SIDE / imageSize)))
}

export function useDownload(
  imageSize: Ref<number>,
  messages: Pick<Messages, 'showError' | 'clearError'>,
  /** Who makes the faces of a model (default: the server). */
  facesOf: (model: string) => FaceService | Promise<FaceService> = () => api,
) {
  const resample = ref<'nearest' | 'lanczos'>('nearest')
  const downloading = ref(false)
  const side = computed(() => imageSize.value * downloadScale(imageSize.value))

  async function download(model: string, z: number[]): Promise<void> {
    const scale = downloadScale(imageSize.value)
    downloading.value = true
    try {
      const faces = await facesOf(model)
      const blob = await faces.generatePng(z, { model, scale, resample: resample.value })
      saveBlob(blob, `face-${model}-${imageSize.value * scale}px.png`)
      messages.clearError('download')
    } catch (error) {
      messages.showError(`Download: ${errorMessage(error)}`, 'download')
    } finally {
      downloading.value = false
    }
  }

  return { resample, downloading, side, download }
}
