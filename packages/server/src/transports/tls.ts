import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SecureContextOptions } from 'node:tls';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** The certificate and key every listener (HTTPS, WSS, TCP+TLS, MQTTS) serves. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 of the certificate, `AA:BB:…`, for pinning a self-signed one. */
  fingerprint256: string;
  selfSigned: boolean;
}

/** What every TLS listener is created with: TLS 1.2 is the oldest version spoken. */
export function serverTlsOptions(tls: TlsMaterial): SecureContextOptions & { minVersion: 'TLSv1.2' } {
  return { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' };
}

const run = promisify(execFile);

/** The configured certificate and key, a development self-signed pair, or none (plain listeners). */
export async function loadTls(config: Config, log: Logger): Promise<TlsMaterial | undefined> {
  if (config.tlsCertFile || config.tlsKeyFile) {
    if (!config.tlsCertFile || !config.tlsKeyFile) throw new Error('TLS needs both SOTONG_TLS_CERT and SOTONG_TLS_KEY');
    return material(readFileSync(config.tlsCertFile), readFileSync(config.tlsKeyFile), false);
  }
  if (!config.tlsSelfSigned) return undefined;
  const dir = join(config.dataDir, 'tls');
  const certFile = join(dir, 'self-signed-cert.pem');
  const keyFile = join(dir, 'self-signed-key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await makeSelfSigned(certFile, keyFile);
    log.info({ certFile }, 'made a self-signed development certificate');
  }
  const tls = material(readFileSync(certFile), readFileSync(keyFile), true);
  // Clients of a development server pin this instead of trusting a CA.
  log.warn({ fingerprint256: tls.fingerprint256, certFile }, 'serving a SELF-SIGNED certificate (development only)');
  return tls;
}

function material(cert: Buffer, key: Buffer, selfSigned: boolean): TlsMaterial {
  return { cert, key, fingerprint256: new X509Certificate(cert).fingerprint256, selfSigned };
}

/** P-256 key, valid a year, for localhost and the loopback addresses; the key file is 0600. */
async function makeSelfSigned(certFile: string, keyFile: string): Promise<void> {
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '365', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
  ], { timeout: 30_000 });
  chmodSync(keyFile, 0o600);
}
