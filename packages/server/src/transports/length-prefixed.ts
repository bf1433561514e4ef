/** What came off the wire: a whole frame, or the size of one too large to read (already skipped). */
export type Chunked = { frame: Buffer } | { tooLarge: number };

/** Frames that are too large but this small are skipped and answered; larger ones end the connection. */
export const HARD_LIMIT_FACTOR = 16;

export function lengthPrefix(frame: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(frame.byteLength, 0);
  return header;
}

/**
 * Splits a byte stream into frames, each a 4-byte big-endian length and that many bytes.
 * A frame over `maxFrameBytes` is skipped without being buffered whole; one over the hard limit
 * throws, since the stream can no longer be trusted to resynchronise cheaply.
 */
export class FrameReader {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private expected = -1;
  private skipping = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Chunked[] {
    const out: Chunked[] = [];
    let data = chunk;
    while (data.byteLength > 0) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, data.byteLength);
        this.skipping -= n;
        data = data.subarray(n);
        continue;
      }
      this.buffered.push(data);
      this.bufferedBytes += data.byteLength;
      data = Buffer.alloc(0);
      if (this.expected < 0) {
        if (this.bufferedBytes < 4) break;
        const all = this.take(this.bufferedBytes);
        this.expected = all.readUInt32BE(0);
        data = all.subarray(4);
        if (this.expected > this.maxFrameBytes) {
          if (this.expected > this.maxFrameBytes * HARD_LIMIT_FACTOR) throw new FrameTooLarge(this.expected);
          out.push({ tooLarge: this.expected });
          this.skipping = this.expected;
          this.expected = -1;
        } else if (this.expected === 0) {
          out.push({ frame: Buffer.alloc(0) });
          this.expected = -1;
        }
        continue;
      }
      if (this.bufferedBytes < this.expected) break;
      const all = this.take(this.bufferedBytes);
      out.push({ frame: all.subarray(0, this.expected) });
      data = all.subarray(this.expected);
      this.expected = -1;
    }
    return out;
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    return n === all.byteLength ? all : all.subarray(0, n);
  }
}

export class FrameTooLarge extends Error {
  constructor(readonly length: number) {
    super(`a frame of ${length} bytes is far beyond the limit`);
  }
}
