import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { deviceOf } from '../src/testing.js';
import { TcpClient } from './support/frame-clients.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

function get(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    })
      .on('error', reject)
      .end();
  });
}

function handshake(port: number, options: { ca?: Buffer; minVersion?: 'TLSv1'; maxVersion?: 'TLSv1.1' | 'TLSv1.2'; ciphers?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', servername: 'localhost', ...options }, () => {
      resolve(socket.getProtocol() ?? '');
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('TLS on every listener (development self-signed certificate)', () => {
  let server: SpawnedServer;
  let alice: Person;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_TLS_SELF_SIGNED: 'true', SOTONG_TCP_PORT: '0' } });
    alice = await person(server, 'Alice');
  });
  after(() => server?.stop());

  it('makes a certificate once, prints its SHA-256 fingerprint, and keeps it across restarts', async () => {
    assert.ok(server.tls, 'the server reported TLS');
    assert.ok(server.output().includes(server.tls.fingerprint256), 'the fingerprint is in the log');
    const before = server.tls.fingerprint256;
    await server.restart();
    assert.equal(server.tls!.fingerprint256, before);
  });

  it('serves HTTPS with HSTS and nothing over plain HTTP', async () => {
    const res = await get(`${server.httpUrl}/healthz`, server.tls!.ca);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['strict-transport-security']), /^max-age=31536000/);
    await assert.rejects(fetch(server.httpUrl.replace('https:', 'http:') + '/healthz'));
  });

  it('speaks TLS 1.3 and 1.2 and refuses anything older', async () => {
    assert.equal(await handshake(server.port, { ca: server.tls!.ca }), 'TLSv1.3');
    assert.equal(await handshake(server.port, { ca: server.tls!.ca, maxVersion: 'TLSv1.2' }), 'TLSv1.2');
    await assert.rejects(
      handshake(server.port, { ca: server.tls!.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
      (err: NodeJS.ErrnoException) => err.code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
    await assert.rejects(
      handshake(server.tcpPort!, { ca: server.tls!.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
      (err: NodeJS.ErrnoException) => err.code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
  });

  it('a client that does not trust the certificate is refused', async () => {
    await assert.rejects(handshake(server.port, {}), (err: NodeJS.ErrnoException) => err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('WSS and TCP+TLS sign in with the same token and get the same frames', async () => {
    const ws = new WebSocket(server.wsUrl, { ca: server.tls!.ca });
    const frames: { t: string; id?: string; challenge?: string }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as { t: string }));
    await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
    const proof = deviceOf(alice.token)!.challengeProof(alice.token, frames[0]!.challenge!);
    ws.send(JSON.stringify({ t: 'auth', id: 'a1', v: 1, token: alice.token, proof }));
    const tcp = await TcpClient.connect(server.tcpPort!, alice.token, server.tls!.ca);
    const me = await tcp.call<{ id: string }>('me.get');
    assert.equal(me.id, alice.user.id);
    for (let i = 0; i < 100 && !frames.some((f) => f.t === 'result' && f.id === 'a1'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(frames[0]!.t, 'hello');
    assert.ok(frames.some((f) => f.t === 'result' && f.id === 'a1'));
    ws.close();
    tcp.close();
  });
});

describe('TLS from a configured certificate and key', () => {
  let server: SpawnedServer;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotong-cert-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    server = await spawnServer({ env: { SOTONG_TLS_CERT: cert, SOTONG_TLS_KEY: key, SOTONG_HSTS_MAX_AGE_SECONDS: '600' } });
  });
  after(() => server?.stop());

  it('serves that certificate, with the configured HSTS max-age', async () => {
    assert.equal(await handshake(server.port, { ca: server.tls!.ca }), 'TLSv1.3');
    const res = await get(`${server.httpUrl}/healthz`, server.tls!.ca);
    assert.equal(res.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
    assert.ok(!server.output().includes('SELF-SIGNED'), 'no development warning for a configured certificate');
  });
});
