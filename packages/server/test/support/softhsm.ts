import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pkcs11Options } from '../../src/keys/pkcs11.js';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * A private SoftHSM2 token for one test process: its own config and token folder (never the
 * system's), initialised with `softhsm2-util --init-token`. Returns undefined (with the reason)
 * when SoftHSM2 is not installed, except under CI, where that is a failure.
 */
export function initSoftHsmToken(label = 'sotong-test'): { options: Pkcs11Options; env: Record<string, string> } | { skip: string } {
  if (!existsSync(SOFTHSM_LIBRARY)) {
    const why = `SoftHSM2 is not installed (${SOFTHSM_LIBRARY}); apt-get install -y softhsm2`;
    if (process.env.CI) throw new Error(why);
    return { skip: why };
  }
  const dir = mkdtempSync(join(tmpdir(), 'sotong-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { SOFTHSM2_CONF: conf };
  const pin = '246810';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '13579'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  // The library reads SOFTHSM2_CONF when it is initialised in this process.
  process.env.SOFTHSM2_CONF = conf;
  return {
    options: { library: SOFTHSM_LIBRARY, tokenLabel: label, pin, keyLabel: 'sotong-cmk' },
    env: { ...env, SOTONG_KEY_PROVIDER: 'pkcs11', SOTONG_PKCS11_LIBRARY: SOFTHSM_LIBRARY, SOTONG_PKCS11_TOKEN: label, SOTONG_PKCS11_PIN: pin },
  };
}
