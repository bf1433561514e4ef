import type { FileInfo } from '@sotong/protocol';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { authHeaders, type SpawnedServer } from '../../src/testing.js';
import { queryStore } from './postgres.js';

/** POST /api/v1/files with the bytes as the body; the raw response, for tests that look at errors. */
export function uploadRaw(server: SpawnedServer, token: string, channelId: string, name: string, body: Uint8Array<ArrayBuffer>): Promise<Response> {
  const query = new URLSearchParams({ channelId, name });
  return fetch(`${server.httpUrl}/api/v1/files?${query}`, {
    method: 'POST',
    headers: { ...authHeaders(token, 'POST', `/api/v1/files?${query}`), 'content-type': 'application/octet-stream' },
    body,
  });
}

export async function upload(server: SpawnedServer, token: string, channelId: string, name: string, body: Uint8Array<ArrayBuffer>): Promise<FileInfo> {
  const res = await uploadRaw(server, token, channelId, name, body);
  const json = (await res.json()) as FileInfo & { code?: string; message?: string };
  if (!res.ok) throw new Error(`upload ${name}: ${res.status} ${json.code}: ${json.message}`);
  return json;
}

export function download(server: SpawnedServer, token: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.httpUrl}/api/v1/files/${path}`, { headers: { ...authHeaders(token, 'GET', `/api/v1/files/${path}`), ...headers } });
}

/** The file name a Content-Disposition header gives, from its RFC 5987 `filename*`. */
export function dispositionName(header: string | null): string | undefined {
  const m = /filename\*=UTF-8''([^;]+)/i.exec(header ?? '');
  return m ? decodeURIComponent(m[1]!) : undefined;
}

/** The file's info once the background worker has recorded what `done` waits for (or after ~10 s, as it is then). */
export async function infoWhen(server: SpawnedServer, token: string, fileId: string, done: (info: FileInfo) => boolean): Promise<FileInfo> {
  let info = (await (await download(server, token, `${fileId}/info`)).json()) as FileInfo;
  for (let tries = 0; !done(info) && tries < 200; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    info = (await (await download(server, token, `${fileId}/info`)).json()) as FileInfo;
  }
  return info;
}

/** A one-page PDF (a blue box on 200×100 pt) with a correct cross-reference table. */
export function onePagePdf(): Buffer<ArrayBuffer> {
  const content = '0 0 1 rg 10 10 180 80 re f';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/** Polls `done` until it holds (the sweeper works on its own schedule), failing after `timeoutMs`. */
export async function until(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The name a file's blob is stored under (the `files.sha256` column: an address within its channel, not the SHA-256 of the bytes while encryption at rest is on). */
export async function blobNameOf(server: SpawnedServer, fileId: string): Promise<string> {
  if (server.store === 'postgres') return queryStore(server, async (db) => (await db.query<{ sha256: string }>('select sha256 from files where id = $1', [fileId])).rows[0]!.sha256);
  const db = new Database(join(server.dataDir, 'sotong.sqlite'), { readonly: true });
  try {
    return (db.prepare('select sha256 from files where id = ?').get(fileId) as { sha256: string }).sha256;
  } finally {
    db.close();
  }
}

export const blobPath = (server: SpawnedServer, name: string) => join(server.dataDir, 'blobs', name.slice(0, 2), name.slice(2, 4), name);
