import type { LoginResult } from '@sotong/sdk';
import { useState } from 'react';
import { SignIn } from '../auth/SignIn';
import { SessionContext } from '../session/context';
import { DirectoryProvider } from '../session/directory';
import { openSession, type Session } from '../session/session';
import { Workspace } from './Workspace';

export function App() {
  const [session, setSession] = useState<Session | null>(null);

  function signedIn(result: LoginResult) {
    const next = openSession(result);
    void next.client.connect().catch(() => setSession(null));
    setSession(next);
  }

  async function signOut() {
    if (!session) return;
    await session.rest.logout().catch(() => {});
    await session.client.close();
    setSession(null);
  }

  if (!session) return <SignIn onSignedIn={signedIn} />;
  return (
    <SessionContext.Provider value={session}>
      <DirectoryProvider>
        <Workspace onSignOut={signOut} />
      </DirectoryProvider>
    </SessionContext.Provider>
  );
}
