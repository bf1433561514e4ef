import { FileClient, RestClient, SotongClient, type LoginResult } from '@sotong/sdk';

/**
 * One signed-in session. The token lives only in this object (memory): never in localStorage
 * or a cookie a script could read, so an injected script that survives the renderer's escaping
 * still finds nothing to steal after a reload. The price: a reload signs you out.
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

export function openSession(result: LoginResult, base = httpBase()): Session {
  const wsUrl = `${base.replace(/^http/, 'ws')}/ws`;
  const client = new SotongClient({ url: wsUrl, token: result.token, user: result.user });
  return {
    client,
    files: new FileClient({ httpBase: base, token: result.token }),
    rest: new RestClient({ httpBase: base, token: result.token }),
    httpBase: base,
  };
}
