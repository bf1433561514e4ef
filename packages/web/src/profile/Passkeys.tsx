import type { PasskeyInfo } from '@sotong/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { passkeyErrorText, passkeysSupported } from '../auth/PasskeyButton';
import { formatDateTime } from '../i18n/format';
import { useSession } from '../session/context';
import { errorText } from '../ui/errors';

/** My passkeys: add one (the browser asks its authenticator), see where each was last used, remove one. */
export function Passkeys() {
  const { t } = useTranslation();
  const { rest } = useSession();
  const [passkeys, setPasskeys] = useState<PasskeyInfo[]>();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const fail = useCallback((err: unknown) => setError(passkeyErrorText(t, err) ?? errorText(t, err)), [t]);
  const reload = useCallback(() => void rest.passkeys().then(setPasskeys, fail), [rest, fail]);
  useEffect(reload, [reload]);

  function add(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    rest
      .registerPasskey(name.trim() || t('passkeys.defaultName'))
      .then(() => (setName(''), reload()), fail)
      .finally(() => setBusy(false));
  }

  function remove(passkey: PasskeyInfo) {
    if (!window.confirm(t('passkeys.confirmRemove', { name: passkey.name }))) return;
    setError(undefined);
    void rest.removePasskey(passkey.id).then(reload, fail);
  }

  return (
    <section aria-labelledby="passkeys-title">
      <h3 id="passkeys-title">{t('passkeys.title')}</h3>
      {error && <p role="alert">{error}</p>}
      {passkeys?.length === 0 && <p>{t('passkeys.none')}</p>}
      {passkeys && passkeys.length > 0 && (
        <ul className="passkeys" data-testid="passkeys">
          {passkeys.map((p) => (
            <li key={p.id}>
              <span>{p.name}</span>{' '}
              <small>{p.lastUsedAt ? t('passkeys.lastUsed', { when: formatDateTime(p.lastUsedAt) }) : t('passkeys.added', { when: formatDateTime(p.createdAt) })}</small>{' '}
              <button type="button" onClick={() => remove(p)} aria-label={t('passkeys.removeNamed', { name: p.name })}>
                {t('passkeys.remove')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {passkeysSupported() ? (
        <form className="form inline" onSubmit={add}>
          <label>
            {t('passkeys.name')}
            <input value={name} maxLength={100} placeholder={t('passkeys.defaultName')} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit" disabled={busy}>
            {t('passkeys.add')}
          </button>
        </form>
      ) : (
        <p>{t('passkeys.failed')}</p>
      )}
    </section>
  );
}
