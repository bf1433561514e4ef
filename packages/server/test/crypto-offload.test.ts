import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { open } from '../src/keys/aes-gcm.js';
import { CryptoOffload } from '../src/keys/crypto-offload.js';
import { sealingJob, sealWith } from '../src/keys/sealed.js';
import { BlindIndex } from '../src/search/blind-index.js';

const offload = new CryptoOffload();
after(() => offload.close());

const dataKey = { id: 'dk_test', key: randomBytes(32), workspaceId: 'w1', scope: 'channel:c1' };
const binding = (n: number) => ({ workspaceId: 'w1', channelId: 'c1', kind: 'message', recordId: `m${n}@1` });

describe('crypto offload (encryption at rest off the event loop)', () => {
  it('seals and makes keyed tokens in a worker, each result going back to its own job', async () => {
    const indexKey = randomBytes(32);
    const texts = Array.from({ length: 200 }, (_, n) => `message ${n} 회의록 ${n % 7}`);
    // Submitted in one turn: one batch, answered in order.
    const [sealed, tokens] = await Promise.all([
      Promise.all(texts.map((text, n) => offload.seal(sealingJob(dataKey, binding(n), 'text/v1', Buffer.from(text))))),
      Promise.all(texts.map((text) => offload.documentTokens('dk_index', indexKey, text))),
    ]);
    const index = new BlindIndex(indexKey);
    texts.forEach((text, n) => {
      assert.deepEqual(tokens[n], index.documentTokens(text), `the tokens of message ${n}`);
      const local = sealWith(dataKey, binding(n), 'text/v1', Buffer.from(text)).content as Buffer;
      const header = local.subarray(0, 2 + dataKey.id.length);
      assert.deepEqual(sealed[n]!.subarray(0, header.length), header, 'the same sealed/v1 header as sealing here');
      const job = sealingJob(dataKey, binding(n), 'text/v1', Buffer.from(text));
      const plaintext = open(dataKey.key, sealed[n]!.subarray(header.length), job.aad);
      assert.equal(plaintext?.subarray(1 + 'text/v1'.length).toString(), text, `message ${n} opens to its own text`);
      assert.equal(open(dataKey.key, sealed[n]!.subarray(header.length), sealingJob(dataKey, binding(n + 1), 'text/v1', Buffer.from(text)).aad), undefined);
    });
  });

  it('refuses a job it cannot do, and the jobs beside it still succeed', async () => {
    const bad = { ...sealingJob(dataKey, binding(1), 'text/v1', Buffer.from('x')), key: randomBytes(7) };
    const [refused, fine] = await Promise.allSettled([offload.seal(bad), offload.seal(sealingJob(dataKey, binding(2), 'text/v1', Buffer.from('y')))]);
    assert.equal(refused.status, 'rejected');
    assert.match(String((refused as PromiseRejectedResult).reason), /encryption at rest failed/);
    assert.equal(fine.status, 'fulfilled');
  });

  it('once closed refuses the jobs still queued and any later one', async () => {
    const other = new CryptoOffload();
    await other.documentTokens('k', randomBytes(32), 'before');
    const queued = assert.rejects(other.documentTokens('k', randomBytes(32), 'queued'), /shutting down/);
    await other.close();
    await queued;
    await assert.rejects(other.documentTokens('k', randomBytes(32), 'after'), /shutting down/);
  });
});
