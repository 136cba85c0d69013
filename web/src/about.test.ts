import { describe, expect, it } from 'vitest'
import { aboutRows } from './about'

describe('aboutRows', () => {
  it('shows the summary in plain words', () => {
    const rows = aboutRows({
      data: 'data/celeba64/train',
      images_seen: 3616000,
      train_hours: 24.04,
      fid: 26.8939,
      fid_extractor: 'inception-fid',
      fid_split: 'test',
    })
    expect(rows).toEqual([
      { label: 'Trained on', value: 'data/celeba64/train' },
      { label: 'Images seen', value: '3,616,000' },
      { label: 'Training time', value: '24.0 h' },
      { label: 'FID (lower is better)', value: '26.89 (test split, inception-fid)' },
    ])
  })

  it('leaves out what the server does not know', () => {
    const unknown = { data: null, images_seen: 32, train_hours: null, fid: null, fid_extractor: null, fid_split: null }
    expect(aboutRows(unknown)).toEqual([{ label: 'Images seen', value: '32' }])
    expect(aboutRows(undefined)).toEqual([])
  })
})
