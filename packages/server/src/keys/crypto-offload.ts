import { Worker } from 'node:worker_threads';
import { SotongError } from '@sotong/protocol';
import { BytePacker, ByteReader, SEAL, TOKENS, type JobBatch, type ResultBatch } from './crypto-offload-batch.js';
import type { SealingJob } from './sealed.js';

type Job = { kind: typeof SEAL; job: SealingJob } | { kind: typeof TOKENS; keyId: string; key: Buffer; text: string };

interface Waiting {
  job: Job;
  resolve: (value: Buffer | string[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Encryption at rest's per-message work — AES-GCM sealing and the blind index's keyed tokens —
 * on a worker thread, so the event loop that owns the sockets and the SQLite writer does not do
 * it. The jobs submitted in one turn of the event loop travel as one batch each way
 * (crypto-offload-batch.ts).
 *
 * The worker sees data keys in plaintext, as this process already does; it keeps only a bounded
 * cache of keyed tokens per index key (as the blind index on the main thread does).
 */
export class CryptoOffload {
  private worker: Worker | undefined;
  private queued: Waiting[] = [];
  private readonly inFlight = new Map<number, Waiting[]>();
  private nextBatch = 1;
  private closed = false;

  seal(job: SealingJob): Promise<Buffer> {
    return this.submit({ kind: SEAL, job }) as Promise<Buffer>;
  }

  /** The blind index's keyed tokens for a document's text under the index key `keyId`. */
  documentTokens(keyId: string, key: Buffer, text: string): Promise<string[]> {
    return this.submit({ kind: TOKENS, keyId, key, text }) as Promise<string[]>;
  }

  /** Refuses what is queued or under way, and every later job. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.closed = true;
    this.worker = undefined;
    const closing = new SotongError('unavailable', 'the server is shutting down');
    for (const w of this.queued) w.reject(closing);
    this.queued = [];
    this.failAll(closing);
    await worker?.terminate();
  }

  private submit(job: Job): Promise<Buffer | string[]> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new SotongError('unavailable', 'the server is shutting down'));
      if (this.queued.length === 0) setImmediate(() => this.flush());
      this.queued.push({ job, resolve, reject });
    });
  }

  private flush(): void {
    const waiting = this.queued;
    this.queued = [];
    if (waiting.length === 0) return;
    const fields = new BytePacker();
    const batch: JobBatch = { id: this.nextBatch++, kinds: [], bytes: new Uint8Array(new ArrayBuffer(0)), lengths: fields.lengths, strings: [] };
    for (const { job } of waiting) {
      batch.kinds.push(job.kind);
      if (job.kind === SEAL) {
        fields.add(job.job.key);
        fields.add(job.job.header);
        fields.add(...job.job.parts);
        fields.add(job.job.aad);
      } else {
        fields.add(job.key);
        batch.strings.push(job.keyId, job.text);
      }
    }
    batch.bytes = fields.pack();
    this.inFlight.set(batch.id, waiting);
    try {
      const worker = this.started();
      // Kept alive only while it has work: an idle worker must not hold the process open.
      worker.ref();
      worker.postMessage(batch, [batch.bytes.buffer]);
    } catch (err) {
      this.inFlight.delete(batch.id);
      for (const w of waiting) w.reject(new SotongError('internal', `the crypto worker could not start: ${(err as Error).message}`));
    }
  }

  private settle(result: ResultBatch, worker: Worker): void {
    const waiting = this.inFlight.get(result.id);
    this.inFlight.delete(result.id);
    if (this.inFlight.size === 0) worker.unref();
    if (!waiting) return;
    const sealed = new ByteReader(result.bytes, result.lengths);
    let tokens = 0;
    waiting.forEach(({ job, resolve, reject }, i) => {
      const error = result.errors[i];
      if (error) reject(new SotongError('internal', `encryption at rest failed: ${error}`));
      else if (job.kind === SEAL) resolve(sealed.next());
      else resolve(result.tokens[tokens++]!.split(' ').filter((t) => t.length > 0));
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./crypto-offload-worker.js', import.meta.url));
    worker.on('message', (result: ResultBatch) => this.settle(result, worker));
    const lost = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // The next job starts a new worker; the jobs given to this one are refused, not lost silently.
      this.failAll(new SotongError('internal', `the crypto worker stopped: ${reason}`));
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  private failAll(err: unknown): void {
    for (const waiting of this.inFlight.values()) for (const w of waiting) w.reject(err);
    this.inFlight.clear();
  }
}
