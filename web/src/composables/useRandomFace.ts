/**
 * Random faces: the Random button (with its realism ↔ variety setting, the
 * truncation ψ), the seed box (a seed gives everyone the same face, with the
 * model's own truncation) and the first face of another model picked. A newer
 * request wins over an older one still on its way.
 */
import { ref, type Ref } from 'vue'
import type { Face } from '../types'
import { errorMessage, type FaceService } from '../api'
import type { Editor } from '../editor'
import { parseSeed } from '../seed'
import type { Messages } from './useMessages'

type RandomFaces = Pick<FaceService, 'random'>

export function useRandomFace(
  modelName: Ref<string>,
  editor: Editor,
  /** Who makes the faces of a model (the browser's engine or the server). */
  facesOf: (name: string) => RandomFaces | Promise<RandomFaces>,
  /** The face on show (useFaceOnShow). */
  onShow: { showKnown(face: Face): void; roundTrip: Ref<number | null> },
  /** Puts another model on show, with `z` in the editor; false when there is no such model. */
  switchModel: (name: string, z?: number[]) => boolean,
  messages: Pick<Messages, 'showError' | 'clearError' | 'succeeded' | 'notify'>,
) {
  /** Realism ↔ variety of Random: z is pulled toward the prior's centre by ψ (1: the prior itself). */
  const truncation = ref(1)
  const seedText = ref('')
  let seq = 0

  /** A random face (of another model with `switchTo`); true when it came. */
  async function randomFace(options: { switchTo?: string; seed?: number } = {}): Promise<boolean> {
    const name = options.switchTo ?? modelName.value
    const started = performance.now()
    const mine = ++seq
    try {
      // a seed gives everyone the same face: the server's own truncation
      const ownTruncation = options.switchTo === undefined && options.seed === undefined
      const faces = await facesOf(name)
      const res = await faces.random({ model: name, seed: options.seed, truncation: ownTruncation ? truncation.value : undefined })
      if (mine !== seq) return false // a newer Random click wins
      const face: Face = { model: name, z: res.z, src: res.image }
      if (options.switchTo !== undefined) switchModel(name, res.z)
      else if (name !== modelName.value) return false
      onShow.showKnown(face)
      editor.setZ(res.z)
      onShow.roundTrip.value = performance.now() - started
      messages.clearError('random')
      messages.notify(`Random face (seed ${res.seed})`)
      return true
    } catch (error) {
      if (mine !== seq) return false
      messages.showError(`Random face: ${errorMessage(error)}`, 'random')
      if (options.switchTo !== undefined && options.switchTo !== modelName.value) switchModel(name)
      return false
    }
  }

  /** The Random button. */
  async function random(): Promise<void> {
    if (await randomFace()) messages.succeeded()
  }

  /** The seed box's Go. */
  async function seed(): Promise<void> {
    let value: number
    try {
      value = parseSeed(seedText.value)
    } catch (error) {
      messages.showError(`Seed: ${errorMessage(error)}`, 'seed')
      return
    }
    if (await randomFace({ seed: value })) messages.succeeded()
  }

  /** Model `name` picked: it comes with a random face. */
  function pickModel(name: string): void {
    if (name !== modelName.value) void randomFace({ switchTo: name }).then((ok) => ok && messages.succeeded())
  }

  return { truncation, seedText, randomFace, random, seed, pickModel }
}
