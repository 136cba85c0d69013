/** The "About model" panel: the server's plain summary of a model, as labelled rows (unknown fields left out). */
import type { ModelSummary } from './types'

export interface AboutRow {
  label: string
  value: string
}

export function aboutRows(summary: ModelSummary | undefined): AboutRow[] {
  if (!summary) return []
  const rows: AboutRow[] = []
  if (summary.data) rows.push({ label: 'Trained on', value: summary.data })
  if (summary.images_seen != null) {
    rows.push({ label: 'Images seen', value: summary.images_seen.toLocaleString('en-US') })
  }
  if (summary.train_hours != null) rows.push({ label: 'Training time', value: `${summary.train_hours.toFixed(1)} h` })
  if (summary.fid != null) {
    const how = [summary.fid_split && `${summary.fid_split} split`, summary.fid_extractor].filter(Boolean).join(', ')
    rows.push({ label: 'FID (lower is better)', value: `${summary.fid.toFixed(2)}${how ? ` (${how})` : ''}` })
  }
  return rows
}
