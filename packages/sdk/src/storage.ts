/** Where the client keeps small values between runs. Browsers can pass `localStorage` as is. */
export interface KeyValueStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
}

export class MemoryStorage implements KeyValueStorage {
  private readonly values = new Map<string, string>();

  getItem(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.values.set(key, value);
  }
}

export type Cursors = Record<string, number>;

/** Persists the per-channel cursors under one key, writing at most once per `delayMs`. */
export class CursorStore {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: (() => Cursors) | undefined;

  constructor(
    private readonly storage: KeyValueStorage,
    readonly key: string,
    private readonly onError: (error: unknown) => void,
    private readonly delayMs = 250,
  ) {}

  async load(): Promise<Cursors> {
    const text = await this.storage.getItem(this.key);
    if (text === null) return {};
    const cursors: Cursors = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null) return {};
      for (const [channelId, seq] of Object.entries(parsed)) {
        if (Number.isSafeInteger(seq) && (seq as number) >= 0) cursors[channelId] = seq as number;
      }
    } catch (error) {
      this.onError(error);
    }
    return cursors;
  }

  /** Saves `read()` soon; calls within the delay share one write of the newest cursors. */
  schedule(read: () => Cursors): void {
    this.pending = read;
    this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const read = this.pending;
    this.pending = undefined;
    if (!read) return;
    try {
      await this.storage.setItem(this.key, JSON.stringify(read()));
    } catch (error) {
      this.onError(error);
    }
  }
}
