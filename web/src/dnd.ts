/** Drag and drop: faces (from the history strip or the big face) onto the morph and arithmetic panels, and photo files onto the photo panel. */
export const FACE_MIME = 'application/x-dcgan-face'

export function startFaceDrag(e: DragEvent, key: string): void {
  if (!e.dataTransfer) return
  e.dataTransfer.setData(FACE_MIME, key)
  e.dataTransfer.setData('text/plain', key)
  e.dataTransfer.effectAllowed = 'copy'
}

export function acceptsFace(e: DragEvent): boolean {
  const types = e.dataTransfer?.types
  return !!types && Array.from(types).includes(FACE_MIME)
}

export function droppedFaceKey(e: DragEvent): string | null {
  return e.dataTransfer?.getData(FACE_MIME) || null
}

/** Whether a drag carries files (a photo from the desktop or a file manager). */
export function carriesFiles(e: DragEvent): boolean {
  const types = e.dataTransfer?.types
  return !!types && Array.from(types).includes('Files')
}

/** The first file dropped, or null. */
export function droppedFile(e: DragEvent): File | null {
  return e.dataTransfer?.files?.[0] ?? null
}
