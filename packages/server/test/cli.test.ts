import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { spawnServer, type SpawnedServer } from './support/fixtures.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

describe('the sotong command line', () => {
  let server: SpawnedServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'sotong-cli-'));
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await spawnServer({ dataDir });
    // The commands must reach the server's store: its SQLite folder, or its PostgreSQL schema.
    env = { ...process.env, ...server.storeEnv, DATA_DIR: dataDir, SOTONG_SCRYPT_COST: '1024', LOG_LEVEL: 'silent' };
  });
  after(() => server?.stop());

  it('creates a user who can then sign in to the running server', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'admin', 'create-user', '--email', 'Kim@Corp.kr', '--name', '김민수', '--password', 'a long enough password'], { env });
    assert.match(stdout, /created kim@corp\.kr/);
    assert.ok(await server.login('kim@corp.kr', 'a long enough password'));
  });

  it('resets a password and ends the old sessions', async () => {
    const token = await server.login('kim@corp.kr', 'a long enough password');
    const { stdout } = await run(process.execPath, [CLI, 'admin', 'reset-password', '--email', 'kim@corp.kr'], { env });
    const fresh = /new password: (\S+)/.exec(stdout)?.[1];
    assert.ok(fresh);
    await assert.rejects(server.request('GET', '/api/v1/me', undefined, token), { status: 401 });
    await assert.rejects(server.login('kim@corp.kr', 'a long enough password'), { status: 401 });
    assert.ok(await server.login('kim@corp.kr', fresh));
  });

  it('refuses bad input with a clear message and a non-zero exit', async () => {
    await assert.rejects(run(process.execPath, [CLI, 'admin', 'create-user', '--email', 'x@y.z', '--name', 'X', '--password', 'short'], { env }), (err: { stderr: string; code: number }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /at least 12 characters/);
      return true;
    });
    await assert.rejects(run(process.execPath, [CLI, 'serve'], { env: { ...env, PORT: 'abc' } }), (err: { stderr: string }) => /PORT/.test(err.stderr));
  });
});
