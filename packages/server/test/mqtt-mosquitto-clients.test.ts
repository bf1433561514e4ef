import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ChannelView, ServerFrame } from '@sotong/protocol';
import { deviceOf } from '../src/testing.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

const run = promisify(execFile);

/**
 * Debian's mosquitto_pub / mosquitto_sub (package mosquitto-clients) as real third-party clients.
 * They cannot answer an AUTH challenge, so each run signs its CONNECT: username = the device's
 * proof over the connect (fresh time and nonce), password = the token.
 */
const signedLogin = (token: string) => ['-u', deviceOf(token)!.mqttConnectProof(token), '-P', token];
for (const secure of [false, true]) {
  describe(`mosquitto clients against the MQTT adapter${secure ? ' over TLS' : ''}`, () => {
    let server: SpawnedServer;
    let alice: Person;
    let bob: Person;
    let channel: ChannelView;
    let tlsArgs: string[] = [];

    before(async () => {
      server = await spawnServer({ env: { SOTONG_MQTT_PORT: '0', ...(secure ? { SOTONG_TLS_SELF_SIGNED: 'true' } : {}) } });
      [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
      channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'mosquitto', memberIds: [bob.user.id] }, alice.token);
      if (secure) {
        const caFile = join(server.dataDir, 'ca-for-mosquitto.pem');
        writeFileSync(caFile, server.tls!.ca);
        tlsArgs = ['--cafile', caFile];
      }
    });
    after(() => server?.stop());

    for (const version of ['mqttv311', 'mqttv5'] as const) {
      it(`mosquitto_sub (${version}) receives a post; mosquitto_pub (${version}) posts with QoS 1`, async () => {
        const root = `sotong/v1/${alice.user.workspaceId}`;
        const common = ['-h', '127.0.0.1', '-p', String(server.mqttPort), '-V', version, ...tlsArgs];
        const sub = spawn('mosquitto_sub', [...common, ...signedLogin(alice.token), '-t', `${root}/channels/${channel.id}`, '-q', '1', '-C', '2', '-W', '15', '-i', `sub-${version}-${secure}`]);
        let out = '';
        let err = '';
        sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
        sub.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<number | null>((resolve) => sub.once('exit', resolve));
        // mosquitto_sub prints nothing when subscribed: give it a moment, then post from both sides.
        await new Promise((r) => setTimeout(r, 700));
        await server.request('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: `rest-${version}-${secure}`, text: `rest ${version}` }, bob.token);
        await run('mosquitto_pub', [...common, ...signedLogin(bob.token), '-q', '1', '-t', `${root}/channels/${channel.id}/send`, '-m', JSON.stringify({ clientMsgId: `pub-${version}-${secure}`, text: `pub ${version}` })]);
        assert.equal(await exited, 0, `mosquitto_sub failed: ${err}`);
        const frames = out.trim().split('\n').map((line) => JSON.parse(line) as ServerFrame);
        const texts = frames.flatMap((f) => (f.t === 'event' && f.e.type === 'message.posted' ? [f.e.message.text] : []));
        assert.deepEqual(texts, [`rest ${version}`, `pub ${version}`]);
      });
    }

    it('mosquitto_sub is refused a channel the user is not in', async () => {
      const secret = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'hidden', kind: 'private' }, bob.token);
      const args = ['-h', '127.0.0.1', '-p', String(server.mqttPort), '-V', 'mqttv5', ...signedLogin(alice.token), ...tlsArgs, '-t', `sotong/v1/${alice.user.workspaceId}/channels/${secret.id}`, '-C', '1', '-W', '5'];
      const started = Date.now();
      const result = await run('mosquitto_sub', args).then(
        (r) => ({ stdout: r.stdout, stderr: r.stderr }),
        (e: { stdout: string; stderr: string }) => e,
      );
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /denied/i);
      assert.ok(Date.now() - started < 4000, 'refused at once, not timed out');
    });

    it('a wrong token, and a right token without its device proof, are refused at CONNECT', async () => {
      for (const login of [['-u', 'token', '-P', 'wrong'], ['-u', 'token', '-P', alice.token]]) {
        const args = ['-h', '127.0.0.1', '-p', String(server.mqttPort), '-V', 'mqttv311', ...login, ...tlsArgs, '-t', 'x', '-m', '{}'];
        const result = await run('mosquitto_pub', args).then(
          () => ({ code: 0, stderr: '' }),
          (e: { code: number; stderr: string }) => e,
        );
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /bad user ?name or password/i);
      }
    });
  });
}
