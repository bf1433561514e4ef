import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, redactUrl } from '../src/config.js';

describe('configuration', () => {
  it('has embedded defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.match(config.sqliteFile, /data\/sotong\.sqlite$/);
  });

  it('reads file limits: 1 GiB by default, type lists from the environment or a file, bad patterns refused', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.maxFileBytes, 1024 ** 3);
    assert.deepEqual([defaults.fileAllowedTypes, defaults.fileBlockedTypes], [[], []]);
    const config = loadConfig({ SOTONG_FILE_BLOCKED_TYPES: ' application/x-msdownload , Text/* ' });
    assert.deepEqual(config.fileBlockedTypes, ['application/x-msdownload', 'text/*']);
    const dir = mkdtempSync(join(tmpdir(), 'sotong-config-'));
    const file = join(dir, 'sotong.json');
    writeFileSync(file, JSON.stringify({ fileAllowedTypes: ['image/*', 'application/pdf'] }));
    assert.deepEqual(loadConfig({}, file).fileAllowedTypes, ['image/*', 'application/pdf']);
    assert.throws(() => loadConfig({ SOTONG_FILE_ALLOWED_TYPES: '*.exe' }), /SOTONG_FILE_ALLOWED_TYPES/);
  });

  it('reads SAML settings as JSON, with defaults, certificates inline or from a file, and names a bad field', () => {
    assert.equal(loadConfig({}).saml, undefined);
    const dir = mkdtempSync(join(tmpdir(), 'sotong-config-'));
    const certFile = join(dir, 'idp.pem');
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(certFile, cert);
    const base = { idpSsoUrl: 'https://idp.example/sso', idpEntityId: 'https://idp.example', idpCerts: [certFile] };
    const saml = loadConfig({ SOTONG_SAML: JSON.stringify({ ...base, groupRoles: { admins: 'admin' } }) }).saml!;
    assert.deepEqual(saml.idpCerts, [cert]);
    assert.equal(saml.wantResponseSigned, true);
    assert.equal(saml.trustIdpMfa, true);
    assert.equal(saml.attributes.email, 'email');
    assert.deepEqual(saml.groupRoles, { admins: 'admin' });
    assert.throws(() => loadConfig({ SOTONG_SAML: JSON.stringify({ ...base, groupRoles: { admins: 'owner' } }) }), /SOTONG_SAML \(saml\): groupRoles\.admins/);
    assert.throws(() => loadConfig({ SOTONG_SAML: JSON.stringify({ ...base, idpCerts: [join(dir, 'missing.pem')] }) }), /idpCerts\.0: not a PEM block/);
    assert.throws(() => loadConfig({ SOTONG_SAML: '{not json' }), /SOTONG_SAML \(saml\): not valid JSON/);
  });

  it('names every bad setting at once', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', SOTONG_MAX_FRAME_BYTES: '10', SOTONG_SCRYPT_COST: '3000' }),
      (err: Error) => err instanceof ConfigError && /PORT/.test(err.message) && /SOTONG_MAX_FRAME_BYTES/.test(err.message) && /power of two/.test(err.message),
    );
  });

  it('reads a JSON file, the environment wins, unknown keys are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotong-config-'));
    const file = join(dir, 'sotong.json');
    writeFileSync(file, JSON.stringify({ port: 9000, maxMessageChars: 500 }));
    const config = loadConfig({ PORT: '9100' }, file);
    assert.equal(config.port, 9100);
    assert.equal(config.maxMessageChars, 500);
    writeFileSync(file, JSON.stringify({ prot: 9000 }));
    assert.throws(() => loadConfig({}, file), /unknown setting\(s\).*prot/);
  });

  it('never prints a database password', () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'mysql://sotong:hunter2@db/sotong' }),
      (err: Error) => err instanceof ConfigError && !err.message.includes('hunter2'),
    );
    assert.equal(redactUrl('postgres://sotong:hunter2@db:5432/sotong'), 'postgres://sotong:***@db:5432/sotong');
    assert.equal(redactUrl('postgres://db/sotong?user=sotong&password=hunter2&sslmode=require'), 'postgres://db/sotong?user=sotong&password=***&sslmode=require');
  });

  it('chooses the store by the scheme of DATABASE_URL', () => {
    assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:/srv/sotong/db.sqlite' }).store, { kind: 'sqlite', file: '/srv/sotong/db.sqlite' });
    const pg = loadConfig({ DATABASE_URL: 'postgresql://sotong@db/sotong', SOTONG_PG_SCHEMA: 'tenant_1' });
    assert.deepEqual(pg.store, { kind: 'postgres', url: 'postgresql://sotong@db/sotong' });
    assert.equal(pg.pgSchema, 'tenant_1');
    assert.equal(pg.pgPoolSize, 10);
    assert.equal(pg.pgStatementTimeoutMs, 15000);
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db/x', SOTONG_PG_POOL_SIZE: '3' }).pgPoolSize, 3);
    assert.throws(() => loadConfig({ SOTONG_PG_SCHEMA: 'bad"; drop' }), /SOTONG_PG_SCHEMA/);
    assert.throws(() => loadConfig({ SOTONG_PG_POOL_SIZE: '0' }), /SOTONG_PG_POOL_SIZE/);
  });
});
