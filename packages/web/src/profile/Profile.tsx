import { useCallback, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { TotpSetup } from '@sotong/sdk';
import { useClientState, useSession } from '../session/context';
import { DeviceList } from '../devices/DeviceList';
import { Passkeys } from './Passkeys';
import { Dialog } from '../ui/Dialog';
import { errorText } from '../ui/errors';

/** Who I am, my presence, two-factor sign-in set-up, my passkeys, and my devices. */
export function Profile({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const { client, rest } = useSession();
  const { user } = useClientState();
  const [setup, setSetup] = useState<TotpSetup>();
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[]>();
  const [error, setError] = useState<string>();

  const start = () => void rest.totpSetup().then(setSetup, (err: unknown) => setError(errorText(t, err)));
  const confirm = (event: FormEvent) => {
    event.preventDefault();
    void rest.totpConfirm(code.trim()).then((list) => (setCodes(list), setSetup(undefined)), (err: unknown) => setError(errorText(t, err)));
  };
  const loadDevices = useCallback(() => rest.devices(), [rest]);
  const revokeDevice = useCallback((deviceId: string) => rest.revokeDevice(deviceId), [rest]);
  const approveDevice = useCallback((deviceId: string) => rest.approveDevice(deviceId), [rest]);
  const presence = (status: 'online' | 'away') => void client.call('presence.set', { status }).catch(() => {});

  return (
    <Dialog title={t('profile.title')} onClose={onClose}>
      <dl className="profile">
        <dt>{t('admin.name')}</dt>
        <dd>{user?.displayName}</dd>
        <dt>{t('admin.email')}</dt>
        <dd>{user?.email}</dd>
        <dt>{t('admin.role')}</dt>
        <dd>{user && t(`roles.${user.role}`)}</dd>
      </dl>
      <div className="row-buttons">
        <button type="button" onClick={() => presence('online')}>
          {t('presence.online')}
        </button>
        <button type="button" onClick={() => presence('away')}>
          {t('presence.away')}
        </button>
      </div>
      <h3>{t('profile.twoFactor')}</h3>
      {error && <p role="alert">{error}</p>}
      {!setup && !codes && (
        <button type="button" onClick={start}>
          {t('profile.enableTotp')}
        </button>
      )}
      {setup && (
        <form className="form" onSubmit={confirm}>
          <p>{t('profile.totpInstructions')}</p>
          <code className="secret" data-testid="totp-secret">
            {setup.secret}
          </code>
          <label>
            {t('signIn.code')}
            <input inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          </label>
          <button type="submit" className="primary">
            {t('profile.confirmTotp')}
          </button>
        </form>
      )}
      {codes && (
        <>
          <p>{t('profile.recoveryCodes')}</p>
          <ul className="codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      <Passkeys />
      <h3>{t('devices.title')}</h3>
      <DeviceList load={loadDevices} revoke={revokeDevice} approve={approveDevice} />
    </Dialog>
  );
}
