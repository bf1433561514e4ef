import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, FileInfo } from '@sotong/protocol';
import { blobNameOf, blobPath } from './support/files.js';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { testDatabaseUrl } from './support/postgres.js';

const MiB = 1024 * 1024;
const UPLOAD_MIB = 300;
const HEAP_CAP_MIB = 64;

/** Peak resident memory of a process so far, from Linux's /proc (undefined elsewhere). */
function peakRssMiB(pid: number): number | undefined {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return undefined;
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : undefined;
}

/**
 * The issue asks for a 2 GiB upload with flat memory; the smaller equivalent: 300 MB through a
 * server whose JavaScript heap is capped at 64 MB, so buffering the body anywhere would crash it,
 * and its peak resident memory (heap, buffers and native code together) stays well under the file size.
 */
describe('large uploads', { skip: testDatabaseUrl() ? 'the bytes never touch the database: the SQLite pass covers this' : false }, () => {
  let server: SpawnedServer;
  let alice: Person;

  before(async () => {
    server = await spawnServer({ env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MIB}` } });
    alice = await person(server, 'Alice');
  });
  after(() => server?.stop());

  it(`streams a ${UPLOAD_MIB} MB upload through a server with a ${HEAP_CAP_MIB} MB heap`, async () => {
    const channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'big' }, alice.token);
    const before = peakRssMiB(server.pid);
    const chunk = Buffer.alloc(MiB);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === UPLOAD_MIB) return controller.close();
        chunk.writeUInt32BE(sent, 0); // every MiB differs, so nothing upstream can compress it away
        controller.enqueue(new Uint8Array(chunk));
        sent++;
      },
    });
    const query = new URLSearchParams({ channelId: channel.id, name: 'big.bin' });
    const res = await fetch(`${server.httpUrl}/api/v1/files?${query}`, {
      method: 'POST',
      headers: { ...authHeaders(alice.token, 'POST', `/api/v1/files?${query}`), 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    const file = (await res.json()) as FileInfo;
    assert.equal(res.status, 200, JSON.stringify(file));
    assert.equal(file.size, UPLOAD_MIB * MiB);
    assert.ok(existsSync(blobPath(server, await blobNameOf(server, file.id))), 'stored as one blob');

    const peak = peakRssMiB(server.pid);
    if (before === undefined || peak === undefined) {
      console.log('no /proc here: peak memory not checked');
      return;
    }
    console.log(`server peak RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB after a ${UPLOAD_MIB} MiB upload`);
    assert.ok(peak - before < UPLOAD_MIB / 3, `peak RSS grew by ${(peak - before).toFixed(0)} MiB`);
  });
});
