import type { Device } from '@sotong/protocol';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../i18n/format';
import { useSession } from '../session/context';
import { useDirectory } from '../session/directory';
import { errorText } from '../ui/errors';

/** The workspace's device policy (new devices wait for approval, or not) and the devices waiting now. */
export function DevicePolicy() {
  const { t } = useTranslation();
  const { rest } = useSession();
  const { users } = useDirectory();
  const [required, setRequired] = useState<boolean>();
  const [pending, setPending] = useState<Device[]>([]);
  const [error, setError] = useState<string>();
  const fail = useCallback((err: unknown) => setError(errorText(t, err)), [t]);
  const reload = useCallback(() => {
    void rest.devicePolicy().then(setRequired, fail);
    void rest.pendingDevices().then(setPending, fail);
  }, [rest, fail]);
  useEffect(reload, [reload]);

  function toggle(next: boolean) {
    setError(undefined);
    void rest.setDevicePolicy(next).then(setRequired, fail);
  }

  function approve(device: Device) {
    setError(undefined);
    void rest.approveDevice(device.id).then(reload, fail);
  }

  return (
    <section aria-labelledby="device-policy-title">
      <h3 id="device-policy-title">{t('adminIdentity.devicePolicy')}</h3>
      {error && <p role="alert">{error}</p>}
      <label className="switch">
        <input type="checkbox" role="switch" checked={required ?? false} disabled={required === undefined} onChange={(e) => toggle(e.target.checked)} />
        {t('adminIdentity.approvalRequired')}
      </label>
      <h4>{t('adminIdentity.pending')}</h4>
      {pending.length === 0 ? (
        <p>{t('adminIdentity.nonePending')}</p>
      ) : (
        <table className="admin-table" data-testid="pending-devices">
          <thead>
            <tr>
              <th>{t('devices.person')}</th>
              <th>{t('devices.name')}</th>
              <th>{t('devices.platform')}</th>
              <th>{t('adminIdentity.since')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {pending.map((d) => {
              const person = users.get(d.userId)?.displayName ?? d.userId;
              return (
                <tr key={d.id} data-device-id={d.id}>
                  <td>{person}</td>
                  <td>{d.name}</td>
                  <td>{d.platform}</td>
                  <td>{formatDateTime(d.firstSeenAt)}</td>
                  <td>
                    <button type="button" onClick={() => approve(d)} aria-label={t('adminIdentity.approveOf', { device: d.name, person })}>
                      {t('devices.approve')}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <button type="button" onClick={reload}>
        {t('adminIdentity.refresh')}
      </button>
    </section>
  );
}
