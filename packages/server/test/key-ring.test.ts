import assert from 'node:assert/strict';
import { mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { storeAuditor } from '../src/keys/audit.js';
import { AuditedKeyProvider } from '../src/keys/audited.js';
import { channelScope, KeyRing, KeysUnavailableError, type KeyRingOptions } from '../src/keys/key-ring.js';
import { LocalKeyProvider } from '../src/keys/local.js';
import { KeyProviderUnavailableError, KeyRejectedError } from '../src/keys/provider.js';
import { openContent, sealContent, SEALED_V1, type Binding } from '../src/keys/sealed.js';
import { AtRest } from '../src/keys/at-rest.js';
import type { StoreProvider } from '../src/store/store.js';
import { openTestStore } from './support/store.js';

const HOUR = 3_600_000;
const text = new TextEncoder().encode('{"text":"quarterly budget 회의록을 공유합니다"}');
const at = (recordId: string, channelId = 'ch_1'): Binding => ({ workspaceId: 'ws_1', channelId, kind: 'message', recordId });

describe('data keys: envelope encryption over the store', () => {
  let opened: Awaited<ReturnType<typeof openTestStore>>;
  let store: StoreProvider;
  let keyFile: string;
  let registry: Registry;
  let clock: number;
  const rings: KeyRing[] = [];

  const ring = async (options: Partial<KeyRingOptions> = {}) => {
    const provider = new AuditedKeyProvider(await LocalKeyProvider.open({ kind: 'file', path: keyFile }), registry, storeAuditor(store));
    const r = new KeyRing(provider, store, { lifetimeMs: 24 * HOUR, maxUses: 100_000, cacheSize: 100, cacheTtlMs: 60_000, outageGraceMs: 300_000, now: () => clock, ...options });
    rings.push(r);
    return r;
  };
  const kmsUses = async (operation: string) => {
    const metric = (await registry.getSingleMetric('sotong_kms_operations_total')?.get())?.values ?? [];
    return metric.filter((v) => v.labels.operation === operation && v.labels.outcome === 'ok').reduce((n, v) => n + v.value, 0);
  };

  before(async () => {
    opened = await openTestStore();
    store = opened.store;
    keyFile = join(mkdtempSync(join(tmpdir(), 'sotong-ring-')), 'master.key');
  });
  beforeEach(() => {
    registry = new Registry();
    clock = Date.UTC(2026, 0, 1);
  });
  after(async () => {
    for (const r of rings) await r.close();
    await opened?.close();
  });

  it('seals under the channel key, stores the key only wrapped, and opens again in a fresh process', async () => {
    const r = await ring();
    const sealed = await sealContent(r, at('m_1'), 'text/v1', text);
    assert.equal(sealed.format, SEALED_V1);
    assert.ok(!Buffer.from(sealed.content).includes(Buffer.from('budget')));
    const row = await store.read.dataKeys.newest(channelScope('ch_1'));
    assert.ok(row && row.wrapped.length === 12 + 32 + 16, 'the stored key is the 60-byte wrapping, not a raw key');
    const again = await ring();
    const plain = await openContent(again, at('m_1'), sealed.format, sealed.content);
    assert.equal(plain.format, 'text/v1');
    assert.deepEqual(Buffer.from(plain.content), Buffer.from(text));
  });

  it('refuses ciphertext moved to another row, another channel, or tampered with', async () => {
    const r = await ring();
    const sealed = await sealContent(r, at('m_2', 'ch_2'), 'text/v1', text);
    await assert.rejects(openContent(r, at('m_3', 'ch_2'), sealed.format, sealed.content), KeyRejectedError);
    await assert.rejects(openContent(r, at('m_2', 'ch_9'), sealed.format, sealed.content), KeyRejectedError);
    await assert.rejects(openContent(r, { ...at('m_2', 'ch_2'), kind: 'edit' }, sealed.format, sealed.content), KeyRejectedError);
    const tampered = Buffer.from(sealed.content);
    tampered[tampered.length - 20]! ^= 0x40;
    await assert.rejects(openContent(r, at('m_2', 'ch_2'), sealed.format, tampered), KeyRejectedError);
  });

  it('rolls a channel key over after its lifetime and after its message count; old content still opens', async () => {
    const r = await ring({ maxUses: 3, lifetimeMs: HOUR });
    const first = await sealContent(r, at('m_a', 'ch_roll'), 'text/v1', text);
    const v1 = await store.read.dataKeys.newest(channelScope('ch_roll'));
    clock += HOUR + 1;
    await sealContent(r, at('m_b', 'ch_roll'), 'text/v1', text);
    const v2 = await store.read.dataKeys.newest(channelScope('ch_roll'));
    assert.equal(v2?.version, 2);
    assert.equal((await store.read.dataKeys.byId(v1!.id))?.retired_at, clock);
    await sealContent(r, at('m_c', 'ch_roll'), 'text/v1', text);
    await sealContent(r, at('m_d', 'ch_roll'), 'text/v1', text);
    await sealContent(r, at('m_e', 'ch_roll'), 'text/v1', text);
    assert.equal((await store.read.dataKeys.newest(channelScope('ch_roll')))?.version, 3, 'a fourth message on a 3-use key rolls it');
    assert.deepEqual(Buffer.from((await openContent(r, at('m_a', 'ch_roll'), first.format, first.content)).content), Buffer.from(text));
  });

  it('counts and audits every CMK use, and serves repeated reads from the cache', async () => {
    const r = await ring();
    const sealed = await Promise.all(['x1', 'x2', 'x3'].map((id) => sealContent(r, at(id, 'ch_audit'), 'text/v1', text)));
    assert.equal(await kmsUses('generate_data_key'), 1, 'one data key for three concurrent messages');
    const reader = await ring();
    for (let i = 0; i < 5; i++) await openContent(reader, at('x1', 'ch_audit'), sealed[0]!.format, sealed[0]!.content);
    assert.equal(await kmsUses('decrypt'), 1, 'unwrapped once, then cached');
    clock += 60_001;
    await openContent(reader, at('x1', 'ch_audit'), sealed[0]!.format, sealed[0]!.content);
    assert.equal(await kmsUses('decrypt'), 2, 'checked with the KMS again after the TTL');
    // Decrypt's audit entries are written in the next batch, without holding up the read.
    const kmsAudit = async () => (await store.read.security.auditPage('ws_1', 200)).filter((a) => a.action.startsWith('kms.') && a.details.includes('channel:ch_audit'));
    for (let i = 0; i < 50 && (await kmsAudit()).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    const kms = await kmsAudit();
    assert.deepEqual(kms.map((a) => a.action).sort(), ['kms.decrypt', 'kms.decrypt', 'kms.generate_data_key']);
    assert.ok(kms.every((a) => a.target?.startsWith('local/')));
  });

  it('keeps working from cached keys while the KMS is away, then fails closed, then recovers', async () => {
    const r = await ring({ cacheTtlMs: 10_000, outageGraceMs: 60_000 });
    const sealed = await sealContent(r, at('o1', 'ch_out'), 'text/v1', text);
    renameSync(keyFile, `${keyFile}.away`);
    clock += 10_001; // the cached key is stale: the KMS is asked, and is not there
    assert.ok(await openContent(r, at('o1', 'ch_out'), sealed.format, sealed.content), 'within the grace the cached key still opens');
    assert.ok(await sealContent(r, at('o2', 'ch_out'), 'text/v1', text), 'and still seals');
    await assert.rejects(openContent(r, at('o1', 'ch_never'), sealed.format, sealed.content), KeyRejectedError);
    await assert.rejects(sealContent(r, at('n1', 'ch_new'), 'text/v1', text), KeyProviderUnavailableError, 'no cached key for a new channel: refused, never plaintext');
    clock += 60_001;
    await assert.rejects(openContent(r, at('o1', 'ch_out'), sealed.format, sealed.content), KeysUnavailableError);
    await assert.rejects(sealContent(r, at('o3', 'ch_out'), 'text/v1', text), KeysUnavailableError);
    renameSync(`${keyFile}.away`, keyFile);
    assert.ok(await openContent(r, at('o1', 'ch_out'), sealed.format, sealed.content), 'the KMS is back: so are the keys');
  });

  it('shreds a channel: its keys are gone and its content no longer opens, in this process or another', async () => {
    const r = await ring();
    const sealed = await sealContent(r, at('s1', 'ch_shred'), 'text/v1', text);
    const kept = await sealContent(r, at('s2', 'ch_keep'), 'text/v1', text);
    assert.equal(await r.shredScope(channelScope('ch_shred')), 1);
    await assert.rejects(openContent(r, at('s1', 'ch_shred'), sealed.format, sealed.content), (err: KeyRejectedError) => (err.details as { reason: string }).reason === 'key_destroyed');
    await assert.rejects(openContent(await ring(), at('s1', 'ch_shred'), sealed.format, sealed.content), KeyRejectedError);
    assert.ok(await openContent(r, at('s2', 'ch_keep'), kept.format, kept.content));
  });

  it('keeps at most the configured number of keys in memory, and still opens everything', async () => {
    const r = await ring({ cacheSize: 2 });
    const sealed = [];
    for (const ch of ['ch_b1', 'ch_b2', 'ch_b3', 'ch_b4']) sealed.push(await sealContent(r, at(`b_${ch}`, ch), 'text/v1', text));
    const before = await kmsUses('decrypt');
    for (const [i, ch] of ['ch_b1', 'ch_b2', 'ch_b3', 'ch_b4'].entries()) assert.ok(await openContent(r, at(`b_${ch}`, ch), sealed[i]!.format, sealed[i]!.content));
    assert.ok((await kmsUses('decrypt')) - before >= 2, 'evicted keys came back from the KMS');
  });

  it('refuses, while on, a message store write path it does not know, instead of storing plaintext', async () => {
    const layered = new AtRest(await ring(), store, true).wrap(store);
    const messages = store.read.messages as unknown as Record<string, unknown>;
    messages.insertMany = async () => undefined;
    try {
      const insertMany = (layered.read.messages as unknown as Record<string, () => Promise<void>>).insertMany!;
      assert.throws(() => insertMany(), (err: { details?: { reason?: string } }) => err.details?.reason === 'unsealed_write_path');
      const off = new AtRest(await ring(), store, false).wrap(store);
      await (off.read.messages as unknown as Record<string, () => Promise<void>>).insertMany!();
    } finally {
      delete messages.insertMany;
    }
  });

  it('rotates the master key: every data key is re-wrapped (resumably), content untouched still opens', async () => {
    const r = await ring();
    const sealed = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5'].map((id, i) => sealContent(r, at(id, `ch_rot${i}`), 'text/v1', text)));
    const next = await r.provider.rotateMaster();
    const stop = new Error('stopped after one page');
    await assert.rejects(
      r.rewrapAll(() => {
        throw stop;
      }, 2),
      stop,
    );
    const partway = await store.read.dataKeys.census();
    assert.equal(partway.byCmk[next], 2, 'one page of two was rewrapped before the stop');
    const progress: number[] = [];
    const { rewrapped } = await r.rewrapAll((done) => progress.push(done), 2);
    const census = await store.read.dataKeys.census();
    assert.equal(census.byCmk[next], census.total, 'every key is under the new CMK');
    assert.ok(rewrapped >= 3 && progress.length >= 2);
    const fresh = await ring();
    for (const [i, s] of sealed.entries()) assert.ok(await openContent(fresh, at(`r${i + 1}`, `ch_rot${i}`), s.format, s.content));
  });
});
