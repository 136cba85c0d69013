/**
 * The sliders of the named controls (issue #22): which directions get a slider,
 * the slider session (every slider position is the total amount applied to the
 * z the session started from), and how an edit's answer is shown.
 */
import type { EditRequest } from './api'
import { sameVector } from './editor'
import type { Attributes, Direction } from './types'

/** Slider range and step, in slider steps (the server scales each direction by its `step`). */
export const SLIDER_MIN = -3
export const SLIDER_MAX = 3
export const SLIDER_STEP = 0.1
/** How many discovered (SeFa) directions get a slider: the first ones, which move the face most. */
export const SEFA_SHOWN = 5
/** The classifier's regression output (years); every other attribute is binary. */
export const AGE = 'Age'

/** A group of sliders under one heading. */
export interface SliderGroup {
  title: string
  /** One line on where the group's directions come from (empty when the title says it). */
  note: string
  directions: Direction[]
}

/**
 * One slider per named attribute, then the top SEFA_SHOWN discovered directions, in the
 * server's order, as two groups (a group without directions is left out).
 */
export function sliderGroups(directions: readonly Direction[]): SliderGroup[] {
  const named = directions.filter((d) => d.kind === 'attribute')
  const found = directions.filter((d) => d.kind === 'sefa').slice(0, SEFA_SHOWN)
  return [
    { title: 'Named', note: '', directions: named },
    { title: 'Found without labels', note: 'the ways this generator varies most; named by what they change', directions: found },
  ].filter((group) => group.directions.length > 0)
}

/** A slider's tooltip: its whole name (the page may cut it short), what one step does, how it was made. */
export function sliderTitle(d: Direction): string {
  return [d.label, d.description, d.how].filter(Boolean).join('\n')
}

/**
 * The sliders' state. A session starts from a z (the base); each slider's position
 * is the amount of its direction applied to the base, so an edit always sends the
 * base and all the amounts. Once z changes by other means (painting, Random, undo)
 * a new session starts from it and the sliders go back to 0.
 */
export class SliderSession {
  amounts: Record<string, number> = {}
  /** Hold the other named attributes while moving one (hold: null), or hold none (hold: []). */
  holdOthers = true
  private base: number[] | null = null
  private made: number[] | null = null

  /** Follows the z in the editor: a z the session did not make starts a new session. Returns true then. */
  follow(z: readonly number[]): boolean {
    const own = this.made ?? this.base
    if (own && sameVector(own, z)) return false
    this.base = z.slice()
    this.made = null
    this.amounts = {}
    return true
  }

  /** Sets one slider; returns the edit to ask for (relative to the session's base). */
  move(name: string, amount: number): Omit<EditRequest, 'model'> {
    if (!this.base) throw new Error('the slider session has no z yet')
    this.amounts = { ...this.amounts, [name]: amount }
    return { z: this.base.slice(), moves: { ...this.amounts }, hold: this.holdOthers ? null : [] }
  }

  /** The z an edit answered with: the editor will show it, and it stays in this session. */
  accept(z: readonly number[]): void {
    this.made = z.slice()
  }

  amount(name: string): number {
    return this.amounts[name] ?? 0
  }
}

/**
 * What an edit did not reach, in words ('' when it reached everything): `missed` is the share of the asked change
 * not reached (a named attribute solved per face stops where the face cannot go further while keeping the rest, a
 * straight move where z's range ends), `saturated` how many of z's numbers the edit took to the edge of their range.
 */
export function unreachedNote(missed: number, saturated: number): string {
  if (!(missed > 0)) return ''
  const reached = missed < 0.01 ? '>99' : String(Math.round((1 - missed) * 100))
  const edge = saturated > 0 ? `; ${saturated} of z's numbers are at the edge of their range` : ''
  return `Reached ${reached}% of the asked change${edge}`
}

/** An attribute's name as people read it: "Blond_Hair" → "Blond Hair". */
export function displayName(name: string): string {
  return name.replace(/_/g, ' ')
}

export interface AttributeBar {
  name: string
  label: string
  /** Probability in [0, 1]. */
  value: number
  percent: number
}

/** The binary attributes as bars (in the given order), and the age in words when there is one. */
export function attributeBars(attributes: Attributes, names: readonly string[]): { bars: AttributeBar[]; age: string } {
  const bars = names
    .filter((name) => name !== AGE && Number.isFinite(attributes[name]))
    .map((name) => {
      const value = Math.min(1, Math.max(0, attributes[name]))
      return { name, label: displayName(name), value, percent: Math.round(value * 100) }
    })
  const age = attributes[AGE]
  return { bars, age: Number.isFinite(age) ? `looks about ${Math.round(age)} years old` : '' }
}

/** A list in words: "a", "a and b", "a, b and c". */
function inWords(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

/** What a static site (no face server) does in the browser and what needs the server, in one sentence. */
export function serverlessNote(can: { sliders: boolean; breeding: boolean; makeMe: boolean }): string {
  const here = ['painting', 'Random', 'morph', 'arithmetic', 'the download']
  const server = ['photos']
  for (const [name, ok] of [
    ['the sliders', can.sliders],
    ['breeding', can.breeding],
    ['“Make me a face”', can.makeMe],
  ] as const) {
    ;(ok ? here : server).push(name)
  }
  if (can.breeding) server.push('the identity lock')
  return `This page runs without a face server: ${inWords(here)} work in your browser; ${inWords(server)} need the server.`
}
