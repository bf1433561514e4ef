import { deviceEnrolment, finishTotpEnrollment, SotongClient, startTotpEnrollment, type TotpSetup } from '@sotong/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { deviceOptions, httpBase } from '../session/session';
import { errorText } from '../ui/errors';

/** The workspace requires two factors and this account has none: set one up to finish signing in. */
export function Enrollment({ challenge, onSignedIn }: { challenge: string; onSignedIn: (client: SotongClient) => void }) {
  const { t } = useTranslation();
  const [setup, setSetup] = useState<TotpSetup>();
  const [code, setCode] = useState('');
  const [done, setDone] = useState<{ recoveryCodes: string[]; client: SotongClient }>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    void startTotpEnrollment(httpBase(), challenge).then(setSetup, (err: unknown) => setError(errorText(t, err)));
  }, [challenge, t]);

  async function confirm(event: FormEvent) {
    event.preventDefault();
    try {
      const options = await deviceOptions();
      const { recoveryCodes, session } = await finishTotpEnrollment(httpBase(), challenge, code.trim(), deviceEnrolment(options.device, options));
      setDone({ recoveryCodes, client: await SotongClient.fromLogin(httpBase(), options.device, session, options) });
    } catch (err) {
      setError(errorText(t, err));
    }
  }

  if (done)
    return (
      <div className="form">
        <p>{t('profile.recoveryCodes')}</p>
        <ul className="codes">
          {done.recoveryCodes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <button type="button" className="primary" onClick={() => onSignedIn(done.client)}>
          {t('signIn.continue')}
        </button>
      </div>
    );

  return (
    <form className="form" onSubmit={confirm}>
      <p>{t('signIn.enrollRequired')}</p>
      {setup && (
        <>
          <p>{t('profile.totpInstructions')}</p>
          <code className="secret" data-testid="totp-secret">
            {setup.secret}
          </code>
          <label>
            {t('signIn.code')}
            <input inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} autoFocus />
          </label>
          <button type="submit" className="primary">
            {t('profile.confirmTotp')}
          </button>
        </>
      )}
      {error && <p role="alert">{error}</p>}
    </form>
  );
}
