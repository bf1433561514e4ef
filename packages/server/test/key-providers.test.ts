import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { LocalKeyProvider } from '../src/keys/local.js';
import { Pkcs11KeyProvider } from '../src/keys/pkcs11.js';
import { KeyProviderUnavailableError, KeyRejectedError, type KeyProvider } from '../src/keys/provider.js';
import { initSoftHsmToken } from './support/softhsm.js';

const context = { workspace: 'w1', channel: 'c1', purpose: 'content' };

/** The one contract every provider keeps: local, PKCS#11, and any KMS added later. */
function contract(name: string, open: () => Promise<KeyProvider>, skip?: string) {
  describe(`key provider contract: ${name}`, { skip }, () => {
    let provider: KeyProvider;
    before(async () => {
      provider = await open();
    });
    after(() => provider?.close());

    it('generates a 256-bit data key and unwraps it again, and two keys differ', async () => {
      const a = await provider.generateDataKey(context);
      const b = await provider.generateDataKey(context);
      assert.equal(a.plaintext.length, 32);
      assert.notDeepEqual(a.plaintext, b.plaintext);
      assert.ok(!a.wrapped.includes(a.plaintext), 'the wrapped form does not contain the key');
      assert.equal(a.cmkId, await provider.currentCmkId());
      assert.deepEqual(await provider.decrypt(a, context), a.plaintext);
    });

    it('refuses a wrapped key under another context or tampered with', async () => {
      const key = await provider.generateDataKey(context);
      await assert.rejects(provider.decrypt(key, { ...context, channel: 'c2' }), KeyRejectedError);
      const tampered = Buffer.from(key.wrapped);
      tampered[tampered.length - 1]! ^= 1;
      await assert.rejects(provider.decrypt({ ...key, wrapped: tampered }, context), KeyRejectedError);
      await assert.rejects(provider.decrypt({ ...key, cmkId: 'nope/9' }, context), KeyRejectedError);
    });

    it('rotates the master key: new keys use the new version, old ones still open and rewrap to it', async () => {
      const old = await provider.generateDataKey(context);
      const next = await provider.rotateMaster();
      assert.notEqual(next, old.cmkId);
      assert.equal(await provider.currentCmkId(), next);
      assert.equal((await provider.generateDataKey(context)).cmkId, next);
      const moved = await provider.rewrap(old, context);
      assert.equal(moved.cmkId, next);
      assert.notDeepEqual(moved.wrapped, old.wrapped);
      assert.deepEqual(await provider.decrypt(moved, context), old.plaintext);
      assert.deepEqual(await provider.decrypt(old, context), old.plaintext);
    });

    it('serves many concurrent callers', async () => {
      const keys = await Promise.all(Array.from({ length: 50 }, () => provider.generateDataKey(context)));
      const opened = await Promise.all(keys.map((k) => provider.decrypt(k, context)));
      opened.forEach((plain, i) => assert.deepEqual(plain, keys[i]!.plaintext));
    });

    it('fails closed with a typed error once closed', async () => {
      const other = await open();
      const key = await other.generateDataKey(context);
      await other.close();
      await assert.rejects(other.decrypt(key, context), (err) => err instanceof KeyProviderUnavailableError || err instanceof KeyRejectedError);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'sotong-keys-'));
const keyFile = join(dir, 'master.key');
contract('local', () => LocalKeyProvider.open({ kind: 'file', path: keyFile }));

const hsm = initSoftHsmToken();
contract('pkcs11 (SoftHSM2)', async () => ('options' in hsm ? Pkcs11KeyProvider.open(hsm.options) : Promise.reject(new Error('no HSM'))), 'skip' in hsm ? hsm.skip : undefined);

describe('local key file', () => {
  it('is created at first run with mode 0600 and a 256-bit key', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sotong-keys-')), 'nested', 'master.key');
    const provider = await LocalKeyProvider.open({ kind: 'file', path });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { current: string; keys: Record<string, string> };
    assert.equal(Buffer.from(file.keys[file.current]!, 'base64').length, 32);
    await provider.rotateMaster();
    assert.equal(statSync(path).mode & 0o777, 0o600, 'still 0600 after rotation');
  });

  it('is unavailable (not silently replaced) when the file is taken away', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sotong-keys-')), 'master.key');
    const provider = await LocalKeyProvider.open({ kind: 'file', path });
    const key = await provider.generateDataKey(context);
    unlinkSync(path);
    await assert.rejects(provider.decrypt(key, context), KeyProviderUnavailableError);
    await assert.rejects(provider.generateDataKey(context), KeyProviderUnavailableError);
  });

  it('takes keys from the environment and refuses a malformed one', async () => {
    const a = randomBytes(32).toString('base64');
    const b = randomBytes(32).toString('base64');
    const one = await LocalKeyProvider.open({ kind: 'env', value: a });
    const key = await one.generateDataKey(context);
    const two = await LocalKeyProvider.open({ kind: 'env', value: `${a},${b}` });
    assert.match(await two.currentCmkId(), /^env\/2-[0-9a-f]{8}$/);
    assert.deepEqual(await two.decrypt(key, context), key.plaintext);
    await assert.rejects(LocalKeyProvider.open({ kind: 'env', value: 'c2hvcnQ=' }), /not 32 bytes/);
  });
});

describe('PKCS#11 master key', { skip: 'skip' in hsm ? hsm.skip : undefined }, () => {
  it('is created inside the token, sensitive and not extractable, and found again after reopening', async () => {
    if (!('options' in hsm)) return;
    const options = { ...hsm.options, keyLabel: 'persist-cmk' };
    const first = await Pkcs11KeyProvider.open(options);
    const id = await first.currentCmkId();
    const key = await first.generateDataKey(context);
    await first.close();
    const again = await Pkcs11KeyProvider.open(options);
    assert.equal(await again.currentCmkId(), id);
    assert.deepEqual(await again.decrypt(key, context), key.plaintext);
    await again.close();
  });

  it('refuses a wrong PIN with a typed error that does not contain it', async () => {
    if (!('options' in hsm)) return;
    await assert.rejects(Pkcs11KeyProvider.open({ ...hsm.options, pin: '99999999' }), (err: Error) => err instanceof KeyProviderUnavailableError && !err.message.includes('99999999'));
  });
});
