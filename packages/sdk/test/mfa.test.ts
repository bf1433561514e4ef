import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { spawnServer, totpCode, type SpawnedServer } from '@sotong/server/testing';
import { SotongError } from '@sotong/protocol';
import { SotongClient } from '../src/index.js';

const PASSWORD = 'a password for the sdk mfa tests';

describe('SDK sign-in with a second factor', () => {
  let server: SpawnedServer;

  before(async () => {
    server = await spawnServer();
  });
  after(() => server?.stop());

  it('reports the second step as a typed error and finishes it with a code', async () => {
    const user = await server.createUser('mfa-sdk@sotong.test', 'MFA User', PASSWORD);
    const token = await server.login(user.email, PASSWORD);
    const { secret } = await server.request<{ secret: string }>('POST', '/api/v1/auth/totp/setup', {}, token);
    await server.request('POST', '/api/v1/auth/totp/confirm', { code: totpCode(secret, Date.now()) }, token);

    const refused = await SotongClient.login(server.httpUrl, user.email, PASSWORD, { WebSocket }).then(
      () => assert.fail('a password alone must not sign in'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof SotongError);
    assert.equal(refused.code, 'unauthenticated');
    const step = refused.details as { mfa: string; challenge: string };
    assert.equal(step.mfa, 'totp');

    const client = await SotongClient.loginWithCode(server.httpUrl, step.challenge, totpCode(secret, Date.now() + 30_000), { WebSocket });
    const session = await client.connect();
    assert.equal(session.user.id, user.id);
    await client.close();
  });
});
