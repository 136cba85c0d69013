import { describe, expect, it, vi } from 'vitest'
import { reactive, ref } from 'vue'
import type { RandomResponse } from '../api'
import { Editor } from '../editor'
import { useRandomFace } from './useRandomFace'

const CONTRACT = { dim: 2, prior: 'uniform', low: -1, high: 1 }
type Ask = { model?: string; seed?: number; truncation?: number }

/** A face service whose answers wait until `answer` (or `fail`) is called. */
function fakeFaces() {
  const asked: Ask[] = []
  const waiting: { resolve: (r: RandomResponse) => void; reject: (e: Error) => void }[] = []
  const service = {
    random: (options: Ask = {}) => {
      asked.push(options)
      return new Promise<RandomResponse>((resolve, reject) => waiting.push({ resolve, reject }))
    },
  }
  const answer = (seed: number, z: number[]) => waiting.shift()!.resolve({ seed, z, image: `data:image/png;base64,R${seed}` })
  const fail = (message: string) => waiting.shift()!.reject(new Error(message))
  return { service, asked, answer, fail }
}

function setup() {
  const modelName = ref('m')
  const editor = reactive(new Editor(CONTRACT)) as Editor
  const faces = fakeFaces()
  const onShow = { showKnown: vi.fn(), roundTrip: ref<number | null>(null) }
  const switchModel = vi.fn((name: string, z?: number[]) => {
    modelName.value = name
    editor.reset(CONTRACT, z)
    return true
  })
  const messages = { showError: vi.fn(), clearError: vi.fn(), succeeded: vi.fn(), notify: vi.fn() }
  const random = useRandomFace(modelName, editor, () => faces.service, onShow, switchModel, messages)
  return { modelName, editor, faces, onShow, switchModel, messages, random }
}

describe('useRandomFace', () => {
  it('Random asks with the realism setting, shows the face and puts its z in the editor', async () => {
    const { editor, faces, onShow, messages, random } = setup()
    random.truncation.value = 0.7
    const done = random.random()
    await vi.waitFor(() => expect(faces.asked).toHaveLength(1))
    faces.answer(5, [0.5, -0.5])
    await done
    expect(faces.asked).toEqual([{ model: 'm', seed: undefined, truncation: 0.7 }])
    expect(onShow.showKnown).toHaveBeenCalledWith({ model: 'm', z: [0.5, -0.5], src: 'data:image/png;base64,R5' })
    expect(editor.z).toEqual([0.5, -0.5])
    expect(onShow.roundTrip.value).toBeGreaterThanOrEqual(0)
    expect(messages.notify).toHaveBeenCalledWith('Random face (seed 5)')
    expect(messages.clearError).toHaveBeenCalledWith('random')
    expect(messages.succeeded).toHaveBeenCalledTimes(1)
  })

  it('a newer click wins over an answer still on its way', async () => {
    const { editor, faces, onShow, random } = setup()
    const first = random.randomFace()
    const second = random.randomFace()
    await vi.waitFor(() => expect(faces.asked).toHaveLength(2))
    faces.answer(1, [0.1, 0.1])
    expect(await first).toBe(false)
    expect(editor.z).toEqual([0, 0])
    faces.answer(2, [0.2, 0.2])
    expect(await second).toBe(true)
    expect(editor.z).toEqual([0.2, 0.2])
    expect(onShow.showKnown).toHaveBeenCalledTimes(1)
  })

  it("the seed box asks for that seed with the model's own realism, and says what is wrong with a bad one", async () => {
    const { faces, messages, random } = setup()
    random.seedText.value = 'x12'
    await random.seed()
    expect(messages.showError).toHaveBeenCalledWith(expect.stringMatching(/^Seed: a seed is a whole number/), 'seed')
    expect(faces.asked).toEqual([])
    random.seedText.value = ' 42 '
    const done = random.seed()
    await vi.waitFor(() => expect(faces.asked).toHaveLength(1))
    faces.answer(42, [1, 1])
    await done
    expect(faces.asked).toEqual([{ model: 'm', seed: 42, truncation: undefined }])
    expect(messages.succeeded).toHaveBeenCalledTimes(1)
  })

  it('a model picked comes with a random face; when none comes, the model is on show anyway', async () => {
    const { modelName, editor, faces, switchModel, messages, random } = setup()
    random.pickModel('m') // the one on show: nothing
    expect(faces.asked).toEqual([])
    random.pickModel('n')
    await vi.waitFor(() => expect(faces.asked).toHaveLength(1))
    expect(faces.asked[0]).toEqual({ model: 'n', seed: undefined, truncation: undefined })
    faces.answer(3, [0.3, 0.3])
    await vi.waitFor(() => expect(messages.succeeded).toHaveBeenCalled())
    expect(switchModel).toHaveBeenCalledWith('n', [0.3, 0.3])
    expect(modelName.value).toBe('n')
    expect(editor.z).toEqual([0.3, 0.3])

    const failed = random.randomFace({ switchTo: 'o' })
    await vi.waitFor(() => expect(faces.asked).toHaveLength(2))
    faces.fail('no such model')
    expect(await failed).toBe(false)
    expect(messages.showError).toHaveBeenCalledWith('Random face: no such model', 'random')
    expect(switchModel).toHaveBeenLastCalledWith('o')
  })
})
