import { connect } from 'node:net';
import { testDatabaseUrl } from './postgres.js';

export const BUS_URL = process.env.SOTONG_TEST_BUS_URL ?? 'nats://127.0.0.1:4222';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 4222) });
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/**
 * Why a cluster test cannot run here, or false. CI has PostgreSQL and NATS: there a missing one
 * fails the run instead of skipping.
 */
export async function clusterSkip(): Promise<string | false> {
  if (!testDatabaseUrl()) return 'needs PostgreSQL and NATS: runs in the PostgreSQL pass';
  if (!process.env.CI && !(await reachable(BUS_URL))) return `needs NATS at ${BUS_URL}`;
  return false;
}
