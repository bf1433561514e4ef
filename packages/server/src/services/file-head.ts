/**
 * Reads the first `bytes` of a stream (or all of it, if shorter) and gives back the whole stream,
 * those bytes included, to read on: the type is known before anything is stored.
 */
export async function splitHead(source: AsyncIterable<Uint8Array>, bytes: number): Promise<{ head: Uint8Array; all: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const taken: Uint8Array[] = [];
  let length = 0;
  let done = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    taken.push(next.value);
    length += next.value.byteLength;
  }
  async function* all() {
    yield* taken;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { head: Buffer.concat(taken).subarray(0, bytes), all: all() };
}
