import { setupStatus, SotongClient, SotongError } from '@sotong/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { deviceOptions, httpBase } from '../session/session';
import { errorText } from '../ui/errors';

interface SetupProps {
  /** The one-time code from the printed link; empty: the owner types it. */
  code: string;
  onSignedIn: (client: SotongClient) => void;
  onBack: () => void;
}

/** First run: the owner names the workspace and themselves and chooses a password, with the code the server printed. */
export function Setup({ code: linked, onSignedIn, onBack }: SetupProps) {
  const { t } = useTranslation();
  const [code, setCode] = useState(linked);
  const [workspaceName, setWorkspaceName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [open, setOpen] = useState<boolean>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void setupStatus(httpBase()).then(
      (status) => (setOpen(status.open), setWorkspaceName((name) => name || (status.workspaceName ?? ''))),
      () => setOpen(true),
    );
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (password !== repeat) return setError(t('setup.mismatch'));
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await SotongClient.setUp(httpBase(), { code: code.trim(), workspaceName, displayName, password }, await deviceOptions()));
    } catch (err) {
      const weak = err instanceof SotongError && err.code === 'bad_request' && (err.details as { reason?: unknown } | undefined)?.reason;
      setError(weak ? t('setup.weakPassword', { reason: String(weak) }) : err instanceof SotongError && err.code === 'unauthenticated' ? t('setup.wrongCode') : errorText(t, err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="setup-title">
        <h1 id="setup-title">{t('setup.title')}</h1>
        {open === false ? (
          <p role="status">{t('setup.done')}</p>
        ) : (
          <>
            <p>{t('setup.intro')}</p>
            {!linked && (
              <label>
                {t('setup.code')}
                <input type="password" autoComplete="off" required value={code} onChange={(e) => setCode(e.target.value)} autoFocus />
                <small>{t('setup.codeHint')}</small>
              </label>
            )}
            <label>
              {t('setup.workspaceName')}
              <input required maxLength={100} value={workspaceName} onChange={(e) => setWorkspaceName(e.target.value)} autoFocus={!!linked} />
            </label>
            <label>
              {t('setup.displayName')}
              <input required maxLength={100} autoComplete="name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
            </label>
            <label>
              {t('setup.password')}
              <input type="password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
            <label>
              {t('setup.repeat')}
              <input type="password" required autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
            </label>
            {error && (
              <p role="alert" className="error">
                {error}
              </p>
            )}
            <button type="submit" className="primary" disabled={busy || open === undefined}>
              {t('setup.submit')}
            </button>
          </>
        )}
        <button type="button" className="link" onClick={onBack}>
          {t('setup.toSignIn')}
        </button>
      </form>
    </main>
  );
}
