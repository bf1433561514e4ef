import { FileClient, RestClient, SotongClient, WebCryptoDeviceKey, type LoginOptions } from '@sotong/sdk';
import { deviceStorage } from './deviceStore';

/**
 * One signed-in session: the SDK clients over a device session. Access tokens live only in the
 * SDK's memory; what survives a reload is the device key (non-extractable, IndexedDB) and its
 * credential, which together renew a token with no password (see docs/web.md).
 */
export interface Session {
  client: SotongClient;
  files: FileClient;
  rest: RestClient;
  httpBase: string;
}

export function httpBase(): string {
  return window.location.origin;
}

/** This browser's device key (made on first use) and where its credential is kept. */
export async function deviceOptions(): Promise<LoginOptions & Required<Pick<LoginOptions, 'device' | 'storage'>>> {
  return { device: await WebCryptoDeviceKey.persistent(), storage: deviceStorage, deviceName: browserName(), platform: navigator.platform || 'web' };
}

export function sessionOf(client: SotongClient, base = httpBase()): Session {
  const credentials = client.session;
  if (!credentials) throw new Error('a client without a device session');
  return { client, files: new FileClient({ httpBase: base, credentials }), rest: new RestClient({ httpBase: base, credentials }), httpBase: base };
}

/** The device session an earlier visit left, with no password; null when there is none. */
export async function resumeSession(): Promise<Session | null> {
  const client = await SotongClient.resume(httpBase(), await deviceOptions());
  return client && sessionOf(client);
}

function browserName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}
