import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '../../src/testing.js';
import type { User } from '@sotong/protocol';
import { TestClient } from './ws-client.js';

export interface Person {
  user: User;
  token: string;
  connect(cursors?: Record<string, number>): Promise<TestClient>;
}

/** A person with an account, a session token, and a way to open sockets. */
export async function person(server: SpawnedServer, name: string, role?: 'admin' | 'member' | 'guest'): Promise<Person> {
  const email = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}@sotong.test`;
  const user = await server.createUser(email, name, TEST_PASSWORD, role);
  const token = await server.login(email, TEST_PASSWORD);
  return { user, token, connect: (cursors) => TestClient.connect(server.wsUrl, token, cursors) };
}

export { authHeaders, spawnServer, type SpawnedServer } from '../../src/testing.js';
