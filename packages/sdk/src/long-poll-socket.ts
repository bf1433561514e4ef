import type { WebSocketLike } from './connection.js';

interface PollAnswer {
  next: number;
  frames: unknown[];
}

/** `ws(s)://host/ws` → `http(s)://host`: long-polling lives beside the WebSocket, at `/lp`. */
export function longPollBase(webSocketUrl: string): string {
  const url = new URL(webSocketUrl);
  const scheme = url.protocol === 'wss:' ? 'https:' : 'http:';
  return `${scheme}//${url.host}${url.pathname.replace(/\/ws\/?$/, '')}`;
}

/**
 * The server's long-poll transport behind the WebSocket interface the connection already speaks:
 * the same frames, sent one per POST (in order) and received by one poll held open at a time.
 */
export class LongPollSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private id = '';
  private next = 0;
  private sending: Promise<unknown> = Promise.resolve();
  private readonly base: string;
  private readonly abort = new AbortController();

  /**
   * `sign`: the REST device-proof headers for a request (the server asks for them on every request
   * once the connection has signed in; before that they are not checked).
   */
  constructor(
    url: string,
    private readonly fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis),
    private readonly sign?: (method: string, url: string) => Promise<Record<string, string>>,
  ) {
    this.base = `${longPollBase(url)}/lp`;
    void this.run();
  }

  send(data: string): void {
    // As a WebSocket does: an error while connecting, nothing once closed.
    if (this.readyState === 0) throw new Error('long-poll connection is not open yet');
    if (this.readyState !== 1) return;
    const id = this.id;
    this.sending = this.sending
      .then(async () => {
        const url = `${this.base}/${id}/send`;
        return this.fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(await this.headers('POST', url)) }, body: data, signal: this.abort.signal });
      })
      .then((res) => {
        if (!res.ok) this.end(1006, `send answered ${res.status}`);
      })
      .catch((error: unknown) => this.end(1006, `send failed: ${String(error)}`));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return;
    if (this.id) {
      const url = `${this.base}/${this.id}`;
      void this.headers('DELETE', url)
        .then((headers) => this.fetchImpl(url, { method: 'DELETE', headers }))
        .catch(() => {});
    }
    this.end(code, reason);
  }

  private async run(): Promise<void> {
    try {
      const opened = await this.fetchImpl(this.base, { method: 'POST', signal: this.abort.signal });
      if (!opened.ok) return this.end(1006, `long-poll refused: ${opened.status}`);
      this.id = ((await opened.json()) as { id: string }).id;
      if (this.readyState === 3) return;
      this.readyState = 1;
      this.onopen?.({});
      while (this.readyState === 1) {
        const url = `${this.base}/${this.id}/poll?from=${this.next}`;
        const res = await this.fetchImpl(url, { headers: await this.headers('GET', url), signal: this.abort.signal });
        if (!res.ok) return this.end(1006, `poll answered ${res.status}`);
        const answer = (await res.json()) as PollAnswer;
        this.next = answer.next;
        for (const frame of answer.frames) {
          if (this.readyState !== 1) return;
          const f = frame as { t?: string; code?: number; reason?: string };
          this.onmessage?.({ data: JSON.stringify(frame) });
          if (f.t === 'close') return this.end(f.code ?? 1006, f.reason ?? '');
        }
      }
    } catch (error) {
      this.end(1006, `long-poll failed: ${String(error)}`);
    }
  }

  private headers(method: string, url: string): Promise<Record<string, string>> {
    return this.sign ? this.sign(method, url) : Promise.resolve({});
  }

  private end(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.abort.abort();
    this.onclose?.({ code, reason });
  }
}
