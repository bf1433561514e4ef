import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('encryption-at-rest settings', () => {
  it('is on by default with the local key file, lifetimes and grace as documented', () => {
    const config = loadConfig({});
    assert.equal(config.atRest, true);
    assert.equal(config.keyProvider, 'local');
    assert.equal(config.dataKeyLifetimeMs, 24 * 3_600_000);
    assert.equal(config.dataKeyMaxMessages, 100_000);
    assert.equal(config.kmsOutageGraceMs, 15 * 60_000);
  });

  it('reads on/off words and refuses anything else, naming the variable', () => {
    assert.equal(loadConfig({ SOTONG_AT_REST: 'off' }).atRest, false);
    assert.equal(loadConfig({ SOTONG_AT_REST: '1' }).atRest, true);
    assert.throws(() => loadConfig({ SOTONG_AT_REST: 'maybe' }), (err: Error) => err instanceof ConfigError && /SOTONG_AT_REST/.test(err.message));
    assert.throws(() => loadConfig({ SOTONG_KEY_PROVIDER: 'kms' }), /SOTONG_KEY_PROVIDER/);
  });

  it('never puts the master key or the HSM PIN in a configuration error', () => {
    const secret = 'c2VjcmV0LWtleS1tYXRlcmlhbA==';
    assert.throws(
      () => loadConfig({ SOTONG_MASTER_KEY: secret, SOTONG_PKCS11_PIN: '8642097531', SOTONG_DATA_KEY_LIFETIME_MS: '5' }),
      (err: Error) => /SOTONG_DATA_KEY_LIFETIME_MS/.test(err.message) && !err.message.includes(secret) && !err.message.includes('8642097531'),
    );
  });
});
