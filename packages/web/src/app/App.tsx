import type { LoginResult } from '@sotong/sdk';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { SignIn } from '../auth/SignIn';
import { SessionContext } from '../session/context';
import { DirectoryProvider } from '../session/directory';
import { openSession, type Session } from '../session/session';
import { Workspace } from './Workspace';

export function App() {
  const { t } = useTranslation();
  const [session, setSession] = useState<Session | null>(null);
  const [connecting, setConnecting] = useState(false);
  const [ended, setEnded] = useState(false);

  // The server ended the session for good (signed out elsewhere, deactivated, token expired).
  useEffect(() => {
    if (!session) return;
    return session.client.on('status', (status) => {
      if (status.state !== 'closed' || !status.error) return;
      setEnded(true);
      setSession(null);
    });
  }, [session]);

  // The workspace shows once the first connection is up and the channel list loaded, so every
  // screen can call the server from its first render; later drops reconnect in place.
  function signedIn(result: LoginResult) {
    const next = openSession(result);
    setEnded(false);
    setConnecting(true);
    next.client
      .connect()
      .then(() => setSession(next))
      .catch(() => setSession(null))
      .finally(() => setConnecting(false));
  }

  async function signOut() {
    if (!session) return;
    await session.rest.logout().catch(() => {});
    await session.client.close();
    setSession(null);
  }

  if (connecting)
    return (
      <main className="signin" role="status">
        {t('connection.connecting')}
      </main>
    );
  if (!session) return <SignIn onSignedIn={signedIn} notice={ended ? t('signIn.sessionEnded') : undefined} />;
  return (
    <SessionContext.Provider value={session}>
      <DirectoryProvider>
        <Workspace onSignOut={signOut} />
      </DirectoryProvider>
    </SessionContext.Provider>
  );
}
