import type { Device } from '@sotong/protocol';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../i18n/format';
import { errorText } from '../ui/errors';

/**
 * Devices with name, platform, last seen and status; a pending one can be approved, each live one
 * revoked (its sockets close and it must sign in again). Used for my own devices and, in the admin console, anyone's.
 */
export function DeviceList({ load, revoke, approve }: { load: () => Promise<Device[]>; revoke: (deviceId: string) => Promise<void>; approve: (deviceId: string) => Promise<unknown> }) {
  const { t } = useTranslation();
  const [devices, setDevices] = useState<Device[]>();
  const [error, setError] = useState<string>();
  const reload = useCallback(() => void load().then(setDevices, (err: unknown) => setError(errorText(t, err))), [load, t]);
  useEffect(reload, [reload]);

  function remove(device: Device) {
    if (!window.confirm(t(device.current ? 'devices.confirmRevokeCurrent' : 'devices.confirmRevoke', { name: device.name }))) return;
    setError(undefined);
    void revoke(device.id).then(reload, (err: unknown) => setError(errorText(t, err)));
  }

  function allow(device: Device) {
    setError(undefined);
    void approve(device.id).then(reload, (err: unknown) => setError(errorText(t, err)));
  }

  if (!devices) return error ? <p role="alert">{error}</p> : <p>{t('common.loading')}</p>;
  return (
    <>
      {error && <p role="alert">{error}</p>}
      <table className="admin-table" data-testid="devices">
        <thead>
          <tr>
            <th>{t('devices.name')}</th>
            <th>{t('devices.platform')}</th>
            <th>{t('devices.lastSeen')}</th>
            <th>{t('devices.status')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {devices.map((d) => (
            <tr key={d.id} data-device-id={d.id}>
              <td>
                {d.name}
                {d.current && <strong> ({t('devices.thisDevice')})</strong>}
              </td>
              <td>{d.platform}</td>
              <td>{formatDateTime(d.lastSeenAt)}</td>
              <td>{t(`devices.statuses.${d.status}`)}</td>
              <td>
                {d.status === 'pending' && (
                  <button type="button" onClick={() => allow(d)} aria-label={t('devices.approveNamed', { name: d.name })}>
                    {t('devices.approve')}
                  </button>
                )}
                {d.status !== 'revoked' && (
                  <button type="button" onClick={() => remove(d)} aria-label={t('devices.revokeNamed', { name: d.name })}>
                    {t('devices.revoke')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
