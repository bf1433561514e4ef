import { SotongError, type DeviceEnrolment } from '@sotong/protocol';
import { unavailable } from './errors.js';
import { errorFromBody, postJson, session, type LoginResult } from './http.js';

/** Whether the server's first-run set-up is still open (its owner never signed in), and the workspace's name. */
export interface SetupStatus {
  open: boolean;
  workspaceName: string | null;
}

export interface Setup {
  /** The one-time code the server printed at its first start (its set-up link carries it). */
  code: string;
  workspaceName: string;
  displayName: string;
  /** The owner's own password from now on. */
  password: string;
}

export async function setupStatus(httpBase: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<SetupStatus> {
  let response: Response;
  try {
    response = await fetchImpl(`${httpBase.replace(/\/$/, '')}/api/v1/setup`);
  } catch (error) {
    throw unavailable(`set-up status request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw errorFromBody(body, response.status, 'set-up status');
  const { open, workspaceName } = (body ?? {}) as Partial<SetupStatus>;
  if (typeof open !== 'boolean') throw new SotongError('internal', 'set-up status answered without `open`');
  return { open, workspaceName: typeof workspaceName === 'string' ? workspaceName : null };
}

/** Finishes the first run: names the workspace and its owner, sets the owner's password, and signs the device in. */
export async function completeSetup(httpBase: string, setup: Setup, device: DeviceEnrolment, fetchImpl: typeof fetch = globalThis.fetch): Promise<LoginResult> {
  return session(await postJson(httpBase, '/api/v1/setup', { ...setup, device }, 'set-up', fetchImpl));
}
