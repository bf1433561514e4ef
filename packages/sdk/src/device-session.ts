import { SotongError, type DeviceCredential, type SessionGranted, type User } from '@sotong/protocol';
import type { DeviceKey } from './device-key.js';
import { requestHeaders, secretHash, signClaims } from './device-proof.js';
import { refresh, type LoginResult } from './http.js';
import type { KeyValueStorage } from './storage.js';

/** What signs a client in: headers for each HTTP request, and the token and proof for each connection. */
export interface Credentials {
  httpHeaders(method: string, url: string): Promise<Record<string, string>>;
  /** The auth frame's token and its device proof over the connection's challenge. */
  connectProof(challenge: string | undefined, transport: string): Promise<{ token: string; proof?: string }>;
  /** The server refused the token (expired or unknown): get a new one before the next use. */
  invalidate(): void;
}

export interface DeviceSessionOptions {
  /** `http(s)://host:port`, where the REST API is. */
  httpBase: string;
  key: DeviceKey;
  fetch?: typeof fetch;
  /** Keeps the device credential between runs, so the app starts again without a sign-in. */
  storage?: KeyValueStorage;
}

/** Renew when this share of the token's lifetime is left: early enough for a slow network or a skewed clock. */
const RENEW_AT_REMAINING = 0.25;

const storageKey = (httpBase: string, publicKey: string) => `sotong:device:${publicKey}@${httpBase.replace(/\/$/, '')}`;

/**
 * A signed-in device: its key, its long-lived credential, and the short-lived access token it
 * renews by itself — on a timer before expiry, and whenever a connection or request needs one.
 */
export class DeviceSession implements Credentials {
  private token: string | undefined;
  private renewAt = 0;
  private renewing: Promise<SessionGranted> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private currentUser: User | null;
  private readonly fetch: typeof fetch;

  private constructor(
    private readonly options: DeviceSessionOptions,
    private device: DeviceCredential,
    granted: SessionGranted | undefined,
  ) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.currentUser = granted?.user ?? null;
    if (granted) this.accept(granted);
  }

  /** The session a sign-in answered (a pending device gets its first token once approved). */
  static async fromLogin(options: DeviceSessionOptions, result: LoginResult): Promise<DeviceSession> {
    const session = new DeviceSession(options, result.device, 'token' in result ? result : undefined);
    await session.persist();
    return session;
  }

  /** The device credential kept in `storage` by an earlier run, or null (sign in then). */
  static async restore(options: DeviceSessionOptions & { storage: KeyValueStorage }): Promise<DeviceSession | null> {
    const text = await options.storage.getItem(storageKey(options.httpBase, options.key.publicKey));
    if (!text) return null;
    const device = JSON.parse(text) as DeviceCredential;
    if (device.expiresAt <= Date.now()) return null;
    return new DeviceSession(options, device, undefined);
  }

  get deviceId(): string {
    return this.device.deviceId;
  }

  /** Known after the first token. */
  get user(): User | null {
    return this.currentUser;
  }

  /** A token that is not about to expire, renewed first if needed. */
  async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.renewAt) return this.token;
    return (await this.renew()).token;
  }

  /**
   * Renews the access token now. Refused (`unauthenticated`, `details.reason`) while the device
   * waits for approval (`device_pending`), once it is revoked, or when the credential lapsed.
   */
  renew(): Promise<SessionGranted> {
    this.renewing ??= refresh(this.options.httpBase, this.options.key, this.device.deviceId, this.device.credential, this.fetch)
      .then(async (granted) => {
        this.accept(granted);
        await this.persist();
        return granted;
      })
      .finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  async httpHeaders(method: string, url: string): Promise<Record<string, string>> {
    return requestHeaders(this.options.key, await this.accessToken(), method, url);
  }

  async connectProof(challenge: string | undefined, transport: string): Promise<{ token: string; proof?: string }> {
    const token = await this.accessToken();
    if (challenge === undefined) return { token };
    return { token, proof: await signClaims(this.options.key, { kind: 'challenge', transport, nonce: challenge, tokenHash: await secretHash(token) }) };
  }

  invalidate(): void {
    this.token = undefined;
  }

  /** Stops renewing in the background. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private accept(granted: SessionGranted): void {
    const receivedAt = Date.now();
    this.token = granted.token;
    this.device = granted.device;
    this.currentUser = granted.user;
    clearTimeout(this.timer);
    const delay = Math.max(1_000, (granted.expiresAt - receivedAt) * (1 - RENEW_AT_REMAINING));
    this.renewAt = receivedAt + delay;
    this.timer = setTimeout(() => {
      // A failed renewal is retried by the next use, which renews when the token is near its end.
      this.renew().catch(() => undefined);
    }, delay);
    // Renewing must not keep a Node program alive by itself.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async persist(): Promise<void> {
    if (!this.options.storage) return;
    await this.options.storage.setItem(storageKey(this.options.httpBase, this.options.key.publicKey), JSON.stringify(this.device));
  }
}

export function isDeviceRefusal(error: unknown): error is SotongError {
  return error instanceof SotongError && error.code === 'unauthenticated' && typeof (error.details as { reason?: unknown } | undefined)?.reason === 'string';
}
