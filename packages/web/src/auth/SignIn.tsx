import { signInMethods, SotongClient, SotongError } from '@sotong/sdk';
import type { SignInMethods } from '@sotong/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { deviceOptions, httpBase } from '../session/session';
import { errorText } from '../ui/errors';
import { Enrollment } from './Enrollment';
import { PasskeyButton, passkeyErrorText, passkeysSupported } from './PasskeyButton';
import { useSetupOpen } from './useSetupOpen';

interface SecondStep {
  challenge: string;
  kind: 'totp' | 'passkey' | 'enroll';
  /** Every factor that finishes this sign-in: a code, a passkey, or both. */
  factors: ('totp' | 'passkey')[];
}

function secondStep(error: unknown): SecondStep | undefined {
  if (!(error instanceof SotongError) || error.code !== 'unauthenticated') return undefined;
  const details = error.details as { mfa?: unknown; challenge?: unknown; factors?: unknown } | undefined;
  const kind = details?.mfa;
  if ((kind === 'totp' || kind === 'passkey' || kind === 'enroll') && typeof details?.challenge === 'string') {
    const named: unknown[] = Array.isArray(details.factors) ? details.factors : kind === 'enroll' ? [] : [kind];
    const factors = named.filter((f): f is 'totp' | 'passkey' => f === 'totp' || f === 'passkey');
    return { challenge: details.challenge, kind, factors };
  }
  return undefined;
}

interface SignInProps {
  onSignedIn: (client: SotongClient) => void;
  notice?: string;
  /** The one-time code of a SAML sign-in the server redirected back with (`/#/sso?code=…`). */
  ssoCode?: string;
  /** Opens the first-run set-up, offered while the server's owner has never signed in. */
  onSetUp?: () => void;
}

/**
 * Password, a passkey, or SSO when the workspace has it; then (when the account has one) the
 * authenticator code, a recovery code or a passkey. Every path enrols this browser's device key.
 */
export function SignIn({ onSignedIn, notice, ssoCode, onSetUp }: SignInProps) {
  const { t } = useTranslation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<SecondStep | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [methods, setMethods] = useState<SignInMethods>();
  const setupOpen = useSetupOpen();
  useEffect(() => {
    document.title = t('app.name');
  }, [t]);
  useEffect(() => {
    void signInMethods(httpBase()).then(setMethods, () => undefined);
  }, []);

  async function attempt(signIn: () => Promise<SotongClient>, firstStep: boolean) {
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn());
    } catch (err) {
      const next = firstStep ? secondStep(err) : undefined;
      if (next) setStep(next);
      else setError(passkeyErrorText(t, err) ?? errorText(t, err));
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    if (ssoCode) void attempt(async () => SotongClient.loginWithSsoCode(httpBase(), ssoCode, await deviceOptions()), true);
    // Once per code: the code is single-use.
  }, [ssoCode]);

  const withPasskey = (challenge?: string) =>
    attempt(async () => (challenge ? SotongClient.loginWithPasskeyStep(httpBase(), challenge, await deviceOptions()) : SotongClient.loginWithPasskey(httpBase(), await deviceOptions())), !challenge);

  function submit(event: FormEvent) {
    event.preventDefault();
    void attempt(
      async () =>
        step ? SotongClient.loginWithCode(httpBase(), step.challenge, code.trim(), await deviceOptions()) : SotongClient.login(httpBase(), email.trim(), password, await deviceOptions()),
      !step,
    );
  }

  if (step?.kind === 'enroll')
    return (
      <main className="signin">
        <div className="signin-card" role="region" aria-labelledby="signin-title">
          <h1 id="signin-title">{t('signIn.enrollTitle')}</h1>
          <Enrollment challenge={step.challenge} onSignedIn={onSignedIn} />
          <button type="button" className="link" onClick={() => setStep(undefined)}>
            {t('signIn.back')}
          </button>
        </div>
      </main>
    );

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">{t('signIn.title')}</h1>
        {notice && <p role="status">{notice}</p>}
        {!step && (
          <>
            <label>
              {t('signIn.email')}
              <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
            </label>
            <label>
              {t('signIn.password')}
              <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
          </>
        )}
        {step?.factors.includes('totp') && (
          <label>
            {t('signIn.code')}
            <input inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} autoFocus />
            <small>{t('signIn.codeHint')}</small>
          </label>
        )}

        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {(!step || step.factors.includes('totp')) && (
          <button type="submit" className="primary" disabled={busy}>
            {step ? t('signIn.verify') : t('signIn.submit')}
          </button>
        )}
        {step?.factors.includes('passkey') && (
          <PasskeyButton label={t('passkeys.useForStep')} busy={busy} onClick={() => void withPasskey(step.challenge)} autoFocus={!step.factors.includes('totp')} />
        )}
        {!step && methods?.passkey && passkeysSupported() && <PasskeyButton label={t('passkeys.signIn')} busy={busy} onClick={() => void withPasskey()} />}
        {!step && methods?.saml && (
          <a className="button sso" href={methods.saml.loginUrl}>
            {t('signIn.sso')}
          </a>
        )}
        {!step && setupOpen && onSetUp && (
          <button type="button" className="link" onClick={onSetUp}>
            {t('setup.offer')}
          </button>
        )}
        {step && (
          <button type="button" className="link" onClick={() => (setStep(undefined), setCode(''), setError(undefined))}>
            {t('signIn.back')}
          </button>
        )}
      </form>
    </main>
  );
}
