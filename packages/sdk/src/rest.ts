import { AuditEvent, Device, User, type Ceremony, type DirectoryStatus, type DirectorySyncResult, type PasskeyInfo, type WorkspaceRole } from '@sotong/protocol';
import type { Credentials } from './device-session.js';
import { unavailable } from './errors.js';
import { errorFromBody } from './http.js';
import { browserAuthenticator, type Authenticator } from './passkeys.js';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';

export interface RestClientOptions {
  /** `http(s)://host:port`, where the REST API is. */
  httpBase: string;
  /** Signs each request: the client's `session` (a `DeviceSession`). */
  credentials: Credentials;
  fetch?: typeof fetch;
}

/** Whether a directory is configured (its sync: `directoryStatus`), and SAML single sign-on as configured (null when off). */
export interface IdentityStatus {
  directory: boolean;
  saml: { idpEntityId: string; idpSsoUrl: string; spEntityId: string; metadataUrl: string } | null;
}

export interface TotpSetup {
  secret: string;
  /** `otpauth://…`, for a QR code. */
  uri: string;
}

/**
 * The signed-in REST calls that have no socket command: ending the session, two-factor set-up,
 * devices, and workspace administration. Every refusal is the server's typed `SotongError`.
 */
export class RestClient {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: RestClientOptions) {
    this.base = options.httpBase.replace(/\/$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async logout(): Promise<void> {
    await this.request('POST', '/auth/logout', {});
  }

  async totpSetup(): Promise<TotpSetup> {
    return (await this.request('POST', '/auth/totp/setup', {})) as TotpSetup;
  }

  /** Turns two-factor sign-in on; returns the one-time recovery codes. */
  async totpConfirm(code: string): Promise<string[]> {
    return ((await this.request('POST', '/auth/totp/confirm', { code })) as { recoveryCodes: string[] }).recoveryCodes;
  }

  async totpDisable(code: string): Promise<void> {
    await this.request('POST', '/auth/totp/disable', { code });
  }

  async passkeys(): Promise<PasskeyInfo[]> {
    return ((await this.request('GET', '/auth/passkeys')) as { passkeys: PasskeyInfo[] }).passkeys;
  }

  /** Registers a new passkey of mine: the server's options, the authenticator's new credential, the server's check. */
  async registerPasskey(name: string, authenticator: Authenticator = browserAuthenticator): Promise<PasskeyInfo> {
    const start = (await this.request('POST', '/auth/passkeys/options', {})) as Ceremony<PublicKeyCredentialCreationOptionsJSON>;
    const response = await authenticator.create(start.options);
    return (await this.request('POST', '/auth/passkeys', { ceremony: start.ceremony, response, name })) as PasskeyInfo;
  }

  async removePasskey(passkeyId: string): Promise<void> {
    await this.request('DELETE', `/auth/passkeys/${encodeURIComponent(passkeyId)}`);
  }

  /** My devices, the one making the call marked `current`. */
  async devices(): Promise<Device[]> {
    return ((await this.request('GET', '/devices')) as { devices: unknown[] }).devices.map((d) => Device.parse(d));
  }

  /** Revokes a device of mine, or (an admin) anyone's: its sockets close and it must sign in again. */
  async revokeDevice(deviceId: string): Promise<void> {
    await this.request('DELETE', `/devices/${encodeURIComponent(deviceId)}`);
  }

  async approveDevice(deviceId: string): Promise<Device> {
    return Device.parse(await this.request('POST', `/devices/${encodeURIComponent(deviceId)}/approve`, {}));
  }

  /** An admin: a user's devices. */
  async userDevices(userId: string): Promise<Device[]> {
    return ((await this.request('GET', `/admin/users/${encodeURIComponent(userId)}/devices`)) as { devices: unknown[] }).devices.map((d) => Device.parse(d));
  }

  async createUser(user: { email: string; displayName: string; password?: string; role?: Exclude<WorkspaceRole, 'owner'> }): Promise<User> {
    return User.parse(await this.request('POST', '/admin/users', user));
  }

  async setRole(userId: string, role: Exclude<WorkspaceRole, 'owner'>): Promise<User> {
    return User.parse(await this.request('PATCH', `/admin/users/${encodeURIComponent(userId)}`, { role }));
  }

  async deactivate(userId: string): Promise<void> {
    await this.request('POST', `/admin/users/${encodeURIComponent(userId)}/deactivate`, {});
  }

  /** The directory sync's status; `not_found` when no directory is configured. */
  async directoryStatus(): Promise<DirectoryStatus> {
    return (await this.request('GET', '/admin/directory')) as DirectoryStatus;
  }

  async syncDirectory(): Promise<DirectorySyncResult> {
    return (await this.request('POST', '/admin/directory/sync', {})) as DirectorySyncResult;
  }

  async identityStatus(): Promise<IdentityStatus> {
    return (await this.request('GET', '/admin/identity')) as IdentityStatus;
  }

  /** The device policy: whether new devices wait for approval. */
  async devicePolicy(): Promise<boolean> {
    return ((await this.request('GET', '/admin/policy/devices')) as { approvalRequired: boolean }).approvalRequired;
  }

  async setDevicePolicy(approvalRequired: boolean): Promise<boolean> {
    return ((await this.request('PUT', '/admin/policy/devices', { approvalRequired })) as { approvalRequired: boolean }).approvalRequired;
  }

  /** Every device of the workspace waiting for approval. */
  async pendingDevices(): Promise<Device[]> {
    return ((await this.request('GET', '/admin/devices/pending')) as { devices: unknown[] }).devices.map((d) => Device.parse(d));
  }

  /** The security audit log, newest first; `before` continues below an entry id. */
  async auditLog(options: { limit?: number; before?: number } = {}): Promise<AuditEvent[]> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.before !== undefined) query.set('before', String(options.before));
    const body = (await this.request('GET', `/admin/audit${query.size > 0 ? `?${query}` : ''}`)) as { events: unknown[] };
    return body.events.map((event) => AuditEvent.parse(event));
  }

  private async request(method: string, path: string, payload?: unknown): Promise<unknown> {
    const url = `${this.base}/api/v1${path}`;
    // Each request is signed anew: a device proof is good for one request.
    const headers: Record<string, string> = await this.options.credentials.httpHeaders(method, url);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetch(url, { method, headers, ...(payload === undefined ? {} : { body: JSON.stringify(payload) }) });
    } catch (error) {
      throw unavailable(`${method} ${path} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw errorFromBody(body, response.status, `${method} ${path}`);
    return body;
  }
}
