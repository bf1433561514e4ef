import { join } from 'node:path';
import { SotongError } from '@sotong/protocol';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { StoreProvider } from '../store/store.js';
import { storeAuditor } from './audit.js';
import { AuditedKeyProvider } from './audited.js';
import { KeyRing } from './key-ring.js';
import { LocalKeyProvider } from './local.js';
import type { KeyProvider } from './provider.js';

/** The configured key provider, counted and audited. The only place a provider is chosen. */
export async function openKeyProvider(config: Config, store: StoreProvider, registry: Registry, log?: Logger): Promise<KeyProvider> {
  let provider: KeyProvider;
  if (config.keyProvider === 'pkcs11') {
    if (!config.pkcs11Pin) throw new SotongError('bad_request', 'SOTONG_KEY_PROVIDER=pkcs11 needs SOTONG_PKCS11_PIN');
    // Loaded only when chosen: the native module is not needed for the local provider.
    const { Pkcs11KeyProvider } = await import('./pkcs11.js');
    provider = await Pkcs11KeyProvider.open({ library: config.pkcs11Library, tokenLabel: config.pkcs11Token, pin: config.pkcs11Pin, keyLabel: config.pkcs11KeyLabel });
  } else {
    provider = await LocalKeyProvider.open(
      config.masterKey ? { kind: 'env', value: config.masterKey } : { kind: 'file', path: config.masterKeyFile ?? join(config.dataDir, 'master.key') },
    );
  }
  return new AuditedKeyProvider(provider, registry, storeAuditor(store), (err) => log?.error({ err }, 'a CMK use could not be written to the audit log'));
}

export async function openKeyRing(config: Config, store: StoreProvider, registry: Registry, log?: Logger): Promise<KeyRing> {
  return new KeyRing(await openKeyProvider(config, store, registry, log), store, {
    lifetimeMs: config.dataKeyLifetimeMs,
    maxUses: config.dataKeyMaxMessages,
    cacheSize: config.dataKeyCacheSize,
    cacheTtlMs: config.dataKeyCacheTtlMs,
    outageGraceMs: config.kmsOutageGraceMs,
  });
}
