import { ClientFrame, SotongError } from '@sotong/protocol';

export type Decoded = { ok: true; frame: ClientFrame } | { ok: false; error: SotongError; requestId?: string };

/** Bytes → a client frame, or the typed error to answer with. Shared by every frame-based transport. */
export function decodeClientFrame(data: Buffer, maxFrameBytes: number): Decoded {
  if (data.byteLength > maxFrameBytes) {
    return { ok: false, error: new SotongError('too_large', `a frame has at most ${maxFrameBytes} bytes`, { limit: maxFrameBytes }) };
  }
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false, error: new SotongError('bad_request', 'a frame is one JSON object') };
  }
  const parsed = ClientFrame.safeParse(json);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const id = (json as { id?: unknown } | null)?.id;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const error = new SotongError('bad_request', 'malformed frame', issues);
  return typeof id === 'string' && id.length <= 64 ? { ok: false, error, requestId: id } : { ok: false, error };
}
