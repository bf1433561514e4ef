import { isDeviceRefusal, type SotongClient } from '@sotong/sdk';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { DevicePending } from '../auth/DevicePending';
import { Setup } from '../auth/Setup';
import { SignIn } from '../auth/SignIn';
import { SessionContext } from '../session/context';
import { forgetDevice } from '../session/deviceStore';
import { DirectoryProvider } from '../session/directory';
import { NotificationPrefsProvider } from '../notify/notificationPrefs';
import { resumeSession, sessionOf, type Session } from '../session/session';
import { readSetupLink } from './setupRoute';
import { readSsoReturn, type SsoReturn } from './ssoRoute';
import { Workspace } from './Workspace';

type Screen =
  | { kind: 'starting' }
  | { kind: 'signIn'; notice?: string }
  | { kind: 'setup'; code: string }
  | { kind: 'connecting' }
  | { kind: 'pending'; session: Session }
  | { kind: 'workspace'; session: Session };

/** Why the server refused this device, for the sign-in screen (`device_revoked`, …), if it said. */
function refusalReason(error: unknown): string | undefined {
  return isDeviceRefusal(error) ? (error.details as { reason: string }).reason : undefined;
}

export function App() {
  const { t } = useTranslation();
  const [screen, setScreen] = useState<Screen>({ kind: 'starting' });
  const [sso] = useState<SsoReturn | undefined>(readSsoReturn);
  const [setupLink] = useState(readSetupLink);
  const session = screen.kind === 'workspace' || screen.kind === 'pending' ? screen.session : undefined;

  // The session ended for good: revoked device, deactivated account, signed out elsewhere.
  function ended(reason: string | undefined) {
    const notice = reason && t(`signIn.deviceRefusal.${reason}`, { defaultValue: '' });
    // A revoked key can never sign in again, and a lapsed credential is useless: start afresh.
    void forgetDevice();
    setScreen({ kind: 'signIn', notice: notice || t('signIn.sessionEnded') });
  }

  // The workspace shows once the first connection is up and the channel list loaded, so every
  // screen can call the server from its first render; later drops reconnect in place.
  function open(next: Session) {
    setScreen({ kind: 'connecting' });
    next.client.connect().then(
      () => setScreen({ kind: 'workspace', session: next }),
      (error: unknown) => {
        if (refusalReason(error) === 'device_pending') setScreen({ kind: 'pending', session: next });
        else if (refusalReason(error) || (error as { code?: string }).code === 'unauthenticated') ended(refusalReason(error));
        else setScreen({ kind: 'signIn', notice: t('errors.unavailable') });
      },
    );
  }

  // On load: the first-run set-up link, back from SSO, or the device session an earlier visit left (no password needed).
  useEffect(() => {
    if (setupLink) return setScreen({ kind: 'setup', code: setupLink.code });
    if (sso) return setScreen({ kind: 'signIn', ...(sso.error ? { notice: t('signIn.ssoFailed', { reason: sso.error }) } : {}) });
    resumeSession().then(
      (resumed) => (resumed ? open(resumed) : setScreen({ kind: 'signIn' })),
      () => setScreen({ kind: 'signIn' }),
    );
    // Once per page load.
  }, []);

  useEffect(() => {
    if (screen.kind !== 'workspace') return;
    return screen.session.client.on('status', (status) => {
      if (status.state === 'closed' && status.error) ended(refusalReason(status.error));
    });
  }, [screen]);

  async function signOut() {
    if (!session) return;
    // Signing out of a browser ends its device, so nothing on this machine can renew the session.
    const deviceId = session.client.session?.deviceId;
    if (deviceId) await session.rest.revokeDevice(deviceId).catch(() => {});
    await session.client.close();
    await forgetDevice();
    setScreen({ kind: 'signIn' });
  }

  switch (screen.kind) {
    case 'starting':
    case 'connecting':
      return (
        <main className="signin" role="status">
          {t('connection.connecting')}
        </main>
      );
    case 'signIn':
      return <SignIn onSignedIn={(client: SotongClient) => open(sessionOf(client))} notice={screen.notice} ssoCode={sso?.code} onSetUp={() => setScreen({ kind: 'setup', code: '' })} />;
    case 'setup':
      return <Setup code={screen.code} onSignedIn={(client: SotongClient) => open(sessionOf(client))} onBack={() => setScreen({ kind: 'signIn' })} />;
    case 'pending':
      return <DevicePending session={screen.session} onApproved={() => open(screen.session)} onSignOut={signOut} />;
    case 'workspace':
      return (
        <SessionContext.Provider value={screen.session}>
          <DirectoryProvider>
            <NotificationPrefsProvider>
              <Workspace onSignOut={signOut} />
            </NotificationPrefsProvider>
          </DirectoryProvider>
        </SessionContext.Provider>
      );
  }
}
