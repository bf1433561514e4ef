import { ChannelFile, FileInfo, SotongError } from '@sotong/protocol';
import { backoffDelay } from './backoff.js';
import { unavailable } from './errors.js';
import type { Credentials } from './device-session.js';
import { errorFromBody } from './http.js';

export interface FileClientOptions {
  /** `http(s)://host:port`, where the REST API is. */
  httpBase: string;
  /** Signs each request: the client's `session` (a `DeviceSession`). */
  credentials: Credentials;
  fetch?: typeof fetch;
  /** Bytes per resumable request (default 8 MiB): what a dropped connection can cost at most. */
  chunkBytes?: number;
  /** Attempts per chunk before giving up (default 5). */
  attempts?: number;
}

export interface UploadOptions {
  /** Called after each piece the server has taken: bytes so far and the total (undefined for a stream). */
  onProgress?: (sent: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

type UploadData = Blob | Uint8Array | ReadableStream<Uint8Array>;

const TUS = { 'tus-resumable': '1.0.0' };
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const RETRY = { baseMs: 250, maxMs: 5_000 };

const base64 = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
};

/**
 * Upload and download of files. Blobs and buffers go up resumably (tus): in chunks, and after a
 * failed chunk the client asks the server how far it got and continues from there. A stream, whose
 * length is unknown, goes up in one streaming request. Send the returned file's id with
 * `message.send {fileIds}`.
 */
export class FileClient {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: FileClientOptions) {
    this.base = options.httpBase.replace(/\/$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async uploadFile(channelId: string, data: UploadData, name: string, options: UploadOptions = {}): Promise<FileInfo> {
    if (data instanceof ReadableStream) return this.uploadStream(channelId, data, name, options);
    const blob = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>]);
    return this.uploadResumable(channelId, blob, name, options);
  }

  /** Where a file (or its preview) is; fetch it with the credentials' headers, as `download` does. */
  downloadUrl(fileId: string, options: { preview?: boolean } = {}): string {
    return `${this.base}/api/v1/files/${encodeURIComponent(fileId)}${options.preview ? '/preview' : ''}`;
  }

  /**
   * A short-lived URL that needs no bearer token nor device proof, for `<img src>` (a preview) and `<video src>`
   * (streams with range requests). It is tied to this user and expires at `expiresAt`: ask again
   * after that (a player that seeks past it gets 403). Asking for it is a device-signed request.
   */
  async signedUrl(fileId: string, options: { preview?: boolean } = {}): Promise<{ url: string; expiresAt: number }> {
    const query = new URLSearchParams({ variant: options.preview ? 'preview' : 'content' });
    const url = `${this.base}/api/v1/files/${encodeURIComponent(fileId)}/link?${query}`;
    const response = await this.request(url, { headers: await this.auth('GET', url) });
    const body = (await response.json().catch(() => undefined)) as { url: string; expiresAt: number } | undefined;
    if (!response.ok || !body) throw errorFromBody(body, response.status, 'link');
    return { url: new URL(body.url, `${this.base}/`).toString(), expiresAt: body.expiresAt };
  }

  /** A page of the files sent in a channel, newest first; pass `nextBefore` as `before` for the next page (null: no more). */
  async channelFiles(channelId: string, page: { before?: string; limit?: number } = {}): Promise<{ files: ChannelFile[]; nextBefore: string | null }> {
    const query = new URLSearchParams({ ...(page.before ? { before: page.before } : {}), ...(page.limit ? { limit: String(page.limit) } : {}) });
    const url = `${this.base}/api/v1/channels/${encodeURIComponent(channelId)}/files${query.toString() ? `?${query}` : ''}`;
    const response = await this.request(url, { headers: await this.auth('GET', url) });
    const body = (await response.json().catch(() => undefined)) as { files: unknown[]; nextBefore: string | null } | undefined;
    if (!response.ok || !body) throw errorFromBody(body, response.status, 'file list');
    return { files: body.files.map((f) => ChannelFile.parse(f)), nextBefore: body.nextBefore };
  }

  /** The file's bytes as a response to stream from; `range` asks for a part (`{start, end}` inclusive). */
  async download(fileId: string, options: { preview?: boolean; range?: { start: number; end?: number }; signal?: AbortSignal } = {}): Promise<Response> {
    const url = this.downloadUrl(fileId, options);
    const headers: Record<string, string> = await this.auth('GET', url);
    if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    const response = await this.request(url, { headers, ...(options.signal ? { signal: options.signal } : {}) });
    if (!response.ok) throw errorFromBody(await response.json().catch(() => undefined), response.status, 'download');
    return response;
  }

  private async uploadResumable(channelId: string, blob: Blob, name: string, options: UploadOptions): Promise<FileInfo> {
    const signal = options.signal ? { signal: options.signal } : {};
    const created = await this.request(`${this.base}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...(await this.auth('POST', `${this.base}/api/v1/uploads`)), ...TUS, 'upload-length': String(blob.size), 'upload-metadata': `channelId ${base64(channelId)},filename ${base64(name)}` },
      ...signal,
    });
    const location = created.headers.get('location');
    if (created.status !== 201 || !location) throw errorFromBody(await created.json().catch(() => undefined), created.status, 'upload');
    const url = new URL(location, `${this.base}/`).toString();
    const chunk = this.options.chunkBytes ?? DEFAULT_CHUNK;
    const attempts = this.options.attempts ?? 5;
    let offset = 0;
    let failures = 0;
    for (;;) {
      const end = Math.min(offset + chunk, blob.size);
      let response: Response | undefined;
      try {
        response = await this.fetch(url, {
          method: 'PATCH',
          headers: { ...(await this.auth('PATCH', url)), ...TUS, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
          body: blob.slice(offset, end),
          ...signal,
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
      }
      if (response?.status === 200) {
        options.onProgress?.(blob.size, blob.size);
        return FileInfo.parse(await response.json());
      }
      if (response?.status === 204) {
        offset = Number(response.headers.get('upload-offset'));
        failures = 0;
        options.onProgress?.(offset, blob.size);
        continue;
      }
      // Refused for good (permission, quota, type): no point in sending it again.
      if (response && response.status < 500 && response.status !== 409 && response.status !== 423) {
        throw errorFromBody(await response.json().catch(() => undefined), response.status, 'upload');
      }
      if (++failures >= attempts) throw unavailable(`upload failed after ${attempts} attempts at byte ${offset}`);
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(failures - 1, RETRY)));
      offset = await this.serverOffset(url, options.signal);
    }
  }

  /** How many bytes of the upload the server holds. */
  private async serverOffset(url: string, signal: AbortSignal | undefined): Promise<number> {
    const head = await this.request(url, { method: 'HEAD', headers: { ...(await this.auth('HEAD', url)), ...TUS }, ...(signal ? { signal } : {}) });
    const offset = Number(head.headers.get('upload-offset'));
    if (!head.ok || !Number.isSafeInteger(offset)) throw new SotongError('not_found', 'the upload is gone; start again');
    return offset;
  }

  private async uploadStream(channelId: string, stream: ReadableStream<Uint8Array>, name: string, options: UploadOptions): Promise<FileInfo> {
    let sent = 0;
    const counted = stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
          options.onProgress?.(sent, undefined);
        },
      }),
    );
    const query = new URLSearchParams({ channelId, name });
    const response = await this.request(`${this.base}/api/v1/files?${query}`, {
      method: 'POST',
      headers: { ...(await this.auth('POST', `${this.base}/api/v1/files?${query}`)), 'content-type': 'application/octet-stream' },
      body: counted,
      // Node's fetch needs this for a streamed body; browsers that stream uploads accept it.
      duplex: 'half',
      ...(options.signal ? { signal: options.signal } : {}),
    } as RequestInit);
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw errorFromBody(body, response.status, 'upload');
    return FileInfo.parse(body);
  }

  /** Each request is signed anew: a device proof is good for one request. */
  private auth(method: string, url: string): Promise<Record<string, string>> {
    return this.options.credentials.httpHeaders(method, url);
  }

  /** fetch, with a network failure turned into the SDK's `unavailable`. */
  private async request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetch(url, init);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw unavailable(`request failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
