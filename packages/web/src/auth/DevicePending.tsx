import { isDeviceRefusal } from '@sotong/sdk';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Session } from '../session/session';

/** How often a waiting device asks whether it has been approved. */
const POLL_MS = 5_000;

/**
 * The workspace requires new devices to be approved: this one signed in but waits until another
 * device of the same person, or an admin, approves it. It asks again by itself.
 */
export function DevicePending({ session, onApproved, onSignOut }: { session: Session; onApproved: () => void; onSignOut: () => void }) {
  const { t } = useTranslation();
  const [checking, setChecking] = useState(false);
  const [failed, setFailed] = useState(false);

  async function check() {
    setChecking(true);
    try {
      await session.client.session?.renew();
      onApproved();
    } catch (error) {
      // Still pending is the expected answer; anything else is shown.
      setFailed(!(isDeviceRefusal(error) && (error.details as { reason: string }).reason === 'device_pending'));
    } finally {
      setChecking(false);
    }
  }

  useEffect(() => {
    const timer = setInterval(() => void check(), POLL_MS);
    return () => clearInterval(timer);
  });

  return (
    <main className="signin">
      <div className="signin-card" role="region" aria-labelledby="pending-title">
        <h1 id="pending-title">{t('devicePending.title')}</h1>
        <p role="status">{t('devicePending.body')}</p>
        {failed && (
          <p role="alert" className="error">
            {t('errors.unavailable')}
          </p>
        )}
        <button type="button" className="primary" disabled={checking} onClick={() => void check()}>
          {t('devicePending.check')}
        </button>
        <button type="button" className="link" onClick={onSignOut}>
          {t('signIn.signOut')}
        </button>
      </div>
    </main>
  );
}
