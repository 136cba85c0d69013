/**
 * What the page does itself with a static site's controls.json (no face server), on the browser's generator:
 * breeding (web/src/breedlocal.ts), reading a face's attributes with the classifier (web/src/attributeslocal.ts)
 * and "make me a face that is …" (web/src/makemelocal.ts). Each is undefined where the site cannot do it.
 */
import { computed, type Ref } from 'vue'
import type { DirectionsResponse, SampleRequest, StaticControls } from '../api'
import { localReader } from '../attributeslocal'
import { localBreeder } from '../breedlocal'
import { type LocalFaceService, freshSeed } from '../localfaces'
import { sampleWhere } from '../makemelocal'
import { modelCache, ortRuntime } from '../ort'
import type { ModelInfo } from '../types'

export function useControlsInPage(
  controls: Readonly<Ref<DirectionsResponse | (StaticControls & { model: string }) | null>>,
  inPage: Readonly<Ref<boolean>>,
  model: Readonly<Ref<ModelInfo | null>>,
  facesOf: (name: string) => Promise<LocalFaceService>,
) {
  const local = computed(() => (inPage.value && controls.value && 'basis' in controls.value ? controls.value : null))

  const breeder = computed(() => {
    const c = local.value
    if (!c || !model.value) return undefined
    return localBreeder(model.value.z, c.basis, async (z, signal) => (await facesOf(c.model)).dataUrls(z, signal), freshSeed)
  })

  const read = computed(() => (local.value?.classifier ? localReader(local.value.classifier, ortRuntime(), modelCache) : null))

  const readFace = computed(() => {
    const c = local.value
    const reader = read.value
    if (!c || !reader) return undefined
    return async (z: number[], signal: AbortSignal) => (await reader([await (await facesOf(c.model)).pixels(z, signal)]))[0]
  })

  const sampler = computed(() => {
    const c = local.value
    const reader = read.value
    const info = model.value
    if (!c || !reader || !info) return undefined
    return async (body: SampleRequest, signal: AbortSignal) => {
      const faces = await facesOf(c.model)
      return sampleWhere(body.constraints, body.n, {
        contract: info.z,
        truncation: info.truncation ?? 1,
        directions: c.directions,
        boundaries: c.boundaries,
        generate: (z) => faces.batch(z, signal),
        read: reader,
        encode: faces.encode,
        seed: freshSeed,
      })
    }
  })

  return { breeder, readFace, sampler }
}
