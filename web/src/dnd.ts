/** Dragging faces (from the history strip or the big face) onto the morph and arithmetic panels. */
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
