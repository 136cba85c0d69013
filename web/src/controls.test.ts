import { describe, expect, it } from 'vitest'
import type { Direction } from './types'
import { SliderSession, attributeBars, displayName, serverlessNote, sliderGroups, sliderTitle, unreachedNote } from './controls'

const direction = (name: string, kind: Direction['kind']): Direction => ({
  name,
  kind,
  label: name,
  how: `how ${name}`,
  step: 1,
  description: '',
})

describe('sliderGroups', () => {
  it('gives every named attribute a slider, then the first five discovered directions, in two groups', () => {
    const ds = [
      direction('Smiling', 'attribute'),
      ...Array.from({ length: 8 }, (_, i) => direction(`sefa_${i}`, 'sefa')),
      direction('Young', 'attribute'),
    ]
    const groups = sliderGroups(ds)
    expect(groups.map((g) => g.title)).toEqual(['Named', 'Found without labels'])
    expect(groups.map((g) => g.directions.map((d) => d.name))).toEqual([
      ['Smiling', 'Young'],
      ['sefa_0', 'sefa_1', 'sefa_2', 'sefa_3', 'sefa_4'],
    ])
  })

  it('leaves out a group without directions', () => {
    expect(sliderGroups([direction('Smiling', 'attribute')]).map((g) => g.title)).toEqual(['Named'])
    expect(sliderGroups([])).toEqual([])
  })
})

describe('sliderTitle', () => {
  it('names the slider in full, then what a step does and how it was made, skipping what is missing', () => {
    const d = { ...direction('sefa_0', 'sefa'), label: '#1 less male, more smiling', description: 'one step moves' }
    expect(sliderTitle(d)).toBe('#1 less male, more smiling\none step moves\nhow sefa_0')
    expect(sliderTitle(direction('Smiling', 'attribute'))).toBe('Smiling\nhow Smiling')
  })
})

describe('SliderSession', () => {
  it('sends every slider position as the total move from the z the session started from', () => {
    const s = new SliderSession()
    expect(s.follow([0, 0])).toBe(true)
    expect(s.move('Smiling', 0.5)).toEqual({ z: [0, 0], moves: { Smiling: 0.5 }, hold: null })
    s.accept([0.1, 0])
    expect(s.follow([0.1, 0])).toBe(false) // the z it made: same session
    expect(s.move('Smiling', 1)).toEqual({ z: [0, 0], moves: { Smiling: 1 }, hold: null })
    s.accept([0.2, 0])
    s.holdOthers = false
    expect(s.move('Young', -0.5)).toEqual({ z: [0, 0], moves: { Smiling: 1, Young: -0.5 }, hold: [] })
    expect(s.amount('Young')).toBe(-0.5)
  })

  it('a z from elsewhere starts a new session with the sliders at 0', () => {
    const s = new SliderSession()
    s.follow([0, 0])
    s.move('Smiling', 2)
    s.accept([0.3, 0])
    expect(s.follow([1, 1])).toBe(true)
    expect(s.amount('Smiling')).toBe(0)
    expect(s.move('Young', 1)).toEqual({ z: [1, 1], moves: { Young: 1 }, hold: null })
  })

  it('needs a z before a move', () => {
    expect(() => new SliderSession().move('Smiling', 1)).toThrow(/no z/)
  })
})

describe('showing an edit', () => {
  it('says how much of the asked change was reached, and when z hit the edge of its range', () => {
    expect(unreachedNote(0, 0)).toBe('')
    expect(unreachedNote(0.25, 0)).toBe('Reached 75% of the asked change')
    expect(unreachedNote(0.001, 0)).toBe('Reached >99% of the asked change')
    expect(unreachedNote(0.03, 2)).toBe("Reached 97% of the asked change; 2 of z's numbers are at the edge of their range")
  })

  it('names as people read them', () => {
    expect(displayName('Mouth_Slightly_Open')).toBe('Mouth Slightly Open')
    expect(displayName('Age')).toBe('Age')
  })

  it('binary attributes as bars, age in words', () => {
    const shown = attributeBars({ Smiling: 0.934, Male: 1.2, Age: 31.4 }, ['Smiling', 'Male', 'Bald', 'Age'])
    expect(shown.bars).toEqual([
      { name: 'Smiling', label: 'Smiling', value: 0.934, percent: 93 },
      { name: 'Male', label: 'Male', value: 1, percent: 100 },
    ])
    expect(attributeBars({ Blond_Hair: 0.5 }, ['Blond_Hair']).bars[0].label).toBe('Blond Hair')
    expect(shown.age).toBe('looks about 31 years old')
    expect(attributeBars({}, ['Age']).age).toBe('')
  })
})

describe('serverlessNote', () => {
  it('says what the browser does and what needs the server', () => {
    expect(serverlessNote({ sliders: false, breeding: false, makeMe: false })).toBe(
      'This page runs without a face server: painting, Random, morph, arithmetic and the download work in your browser; ' +
        'photos, the sliders, breeding and “Make me a face” need the server.',
    )
    expect(serverlessNote({ sliders: true, breeding: true, makeMe: true })).toBe(
      'This page runs without a face server: painting, Random, morph, arithmetic, the download, the sliders, breeding and ' +
        '“Make me a face” work in your browser; photos and the identity lock need the server.',
    )
  })
})
