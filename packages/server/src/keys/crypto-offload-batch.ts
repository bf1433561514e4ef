/**
 * The wire format between crypto-offload.ts and its worker: a batch of jobs as one byte array,
 * the lengths of the byte fields in it, and the strings, so that posting a batch clones three
 * values rather than several typed arrays per job (each costs about a microsecond to clone).
 */
export const SEAL = 0;
export const TOKENS = 1;

/** seal: key, header, plaintext, associated data → header ‖ nonce ‖ ciphertext ‖ tag. tokens: key and (key id, text) → keyed tokens. */
export interface JobBatch {
  id: number;
  kinds: number[];
  bytes: Uint8Array<ArrayBuffer>;
  lengths: number[];
  strings: string[];
}

/** Per job, in order: an error, or a result — sealed bytes (in `bytes`) or tokens (space-separated, in `tokens`). */
export interface ResultBatch {
  id: number;
  errors: (string | null)[];
  bytes: Uint8Array<ArrayBuffer>;
  lengths: number[];
  tokens: string[];
}

/** Gathers byte fields into one array that owns its buffer (a view into Buffer's shared pool would clone the whole pool). */
export class BytePacker {
  private readonly fields: Uint8Array[] = [];
  readonly lengths: number[] = [];
  private total = 0;

  /** Several arrays as one field. */
  add(...parts: Uint8Array[]): void {
    let length = 0;
    for (const part of parts) {
      this.fields.push(part);
      length += part.byteLength;
    }
    this.lengths.push(length);
    this.total += length;
  }

  pack(): Uint8Array<ArrayBuffer> {
    const bytes = new Uint8Array(new ArrayBuffer(this.total));
    let offset = 0;
    for (const field of this.fields) {
      bytes.set(field, offset);
      offset += field.byteLength;
    }
    return bytes;
  }
}

/** Reads the fields back, in order, as views (no copy). */
export class ByteReader {
  private offset = 0;
  private index = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly lengths: number[],
  ) {}

  next(): Buffer {
    const length = this.lengths[this.index++]!;
    const field = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offset, length);
    this.offset += length;
    return field;
  }
}
