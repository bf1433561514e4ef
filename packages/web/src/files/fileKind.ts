/** A type icon and the name of the kind of file, from its detected type (the name is not trusted). */
export function fileKind(mime: string): { icon: string; kind: 'image' | 'video' | 'audio' | 'pdf' | 'archive' | 'text' | 'other' } {
  if (mime.startsWith('image/')) return { icon: '🖼', kind: 'image' };
  if (mime.startsWith('video/')) return { icon: '🎞', kind: 'video' };
  if (mime.startsWith('audio/')) return { icon: '🎵', kind: 'audio' };
  if (mime === 'application/pdf') return { icon: '📕', kind: 'pdf' };
  if (/zip|tar|gzip|7z|rar|compressed/.test(mime)) return { icon: '🗜', kind: 'archive' };
  if (mime.startsWith('text/')) return { icon: '📝', kind: 'text' };
  return { icon: '📄', kind: 'other' };
}
