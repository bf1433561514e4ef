import { parentPort } from 'node:worker_threads';
import { BlindIndex } from '../search/blind-index.js';
import { TwoGenerationCache } from '../two-generation-cache.js';
import { sealAfter } from './aes-gcm.js';
import { BytePacker, ByteReader, SEAL, type JobBatch, type ResultBatch } from './crypto-offload-batch.js';

/** The worker side of crypto-offload.ts. Index keys in use at once: one per workspace written to. */
const indexes = new TwoGenerationCache<string, BlindIndex>(64);

parentPort!.on('message', (batch: JobBatch) => {
  const fields = new ByteReader(batch.bytes, batch.lengths);
  const sealed = new BytePacker();
  const result: ResultBatch = { id: batch.id, errors: [], bytes: new Uint8Array(new ArrayBuffer(0)), lengths: sealed.lengths, tokens: [] };
  let string = 0;
  for (const kind of batch.kinds) {
    try {
      if (kind === SEAL) {
        const [key, header, plaintext, aad] = [fields.next(), fields.next(), fields.next(), fields.next()];
        sealed.add(sealAfter(header, key, [plaintext], aad));
      } else {
        const key = fields.next();
        const [keyId, text] = [batch.strings[string++]!, batch.strings[string++]!];
        result.tokens.push(indexes.getOrMake(keyId, () => new BlindIndex(Buffer.from(key))).documentTokens(text).join(' '));
      }
      result.errors.push(null);
    } catch (err) {
      result.errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  result.bytes = sealed.pack();
  parentPort!.postMessage(result, [result.bytes.buffer]);
});
