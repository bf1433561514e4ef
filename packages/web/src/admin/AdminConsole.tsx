import type { AuditEvent, User } from '@sotong/protocol';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../i18n/format';
import { useSession } from '../session/context';
import { useDirectory } from '../session/directory';
import { DeviceList } from '../devices/DeviceList';
import { Dialog } from '../ui/Dialog';
import { IdentityPanel } from './IdentityPanel';
import { errorText } from '../ui/errors';

type Role = Exclude<User['role'], 'owner'>;

/** Workspace admins: people (create, role, deactivate), their devices, the security audit log, and directory, SSO and device policy. */
export function AdminConsole({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const [tab, setTab] = useState<'users' | 'devices' | 'audit' | 'identity'>('users');
  return (
    <Dialog title={t('admin.title')} onClose={onClose} wide>
      <div role="tablist" className="tabs">
        <button type="button" role="tab" aria-selected={tab === 'users'} onClick={() => setTab('users')}>
          {t('admin.users')}
        </button>
        <button type="button" role="tab" aria-selected={tab === 'devices'} onClick={() => setTab('devices')}>
          {t('devices.title')}
        </button>
        <button type="button" role="tab" aria-selected={tab === 'audit'} onClick={() => setTab('audit')}>
          {t('admin.audit')}
        </button>
        <button type="button" role="tab" aria-selected={tab === 'identity'} onClick={() => setTab('identity')}>
          {t('adminIdentity.tab')}
        </button>
      </div>
      <div role="tabpanel">{tab === 'users' ? <Users /> : tab === 'devices' ? <UserDevices /> : tab === 'audit' ? <Audit /> : <IdentityPanel />}</div>
    </Dialog>
  );
}

function Users() {
  const { t } = useTranslation();
  const { rest } = useSession();
  const { users, reload } = useDirectory();
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();

  const act = (work: Promise<unknown>) => void work.then(() => (setError(undefined), reload()), (err: unknown) => setError(errorText(t, err)));
  const create = (event: FormEvent) => {
    event.preventDefault();
    act(rest.createUser({ email, displayName, password }).then(() => (setEmail(''), setDisplayName(''), setPassword(''))));
  };

  return (
    <>
      {error && <p role="alert">{error}</p>}
      <table className="admin-table">
        <thead>
          <tr>
            <th>{t('admin.name')}</th>
            <th>{t('admin.email')}</th>
            <th>{t('admin.role')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...users.values()].map((u) => (
            <tr key={u.id}>
              <td>{u.displayName}</td>
              <td>{u.email}</td>
              <td>
                {u.role === 'owner' ? (
                  t('roles.owner')
                ) : (
                  <select value={u.role} aria-label={t('admin.roleOf', { name: u.displayName })} onChange={(e) => act(rest.setRole(u.id, e.target.value as Role))}>
                    {(['admin', 'member', 'guest'] as const).map((r) => (
                      <option key={r} value={r}>
                        {t(`roles.${r}`)}
                      </option>
                    ))}
                  </select>
                )}
              </td>
              <td>
                {u.deactivated ? (
                  t('admin.deactivated')
                ) : u.role !== 'owner' ? (
                  <button type="button" onClick={() => window.confirm(t('admin.confirmDeactivate', { name: u.displayName })) && act(rest.deactivate(u.id))}>
                    {t('admin.deactivate')}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="form inline" onSubmit={create}>
        <h3>{t('admin.createUser')}</h3>
        <label>
          {t('admin.name')}
          <input required value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        </label>
        <label>
          {t('admin.email')}
          <input required type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          {t('admin.initialPassword')}
          <input required type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="primary">
          {t('admin.create')}
        </button>
      </form>
    </>
  );
}

/** Any person's devices; an admin revokes any of them. */
function UserDevices() {
  const { t } = useTranslation();
  const { rest } = useSession();
  const { users } = useDirectory();
  const [userId, setUserId] = useState('');
  const load = useCallback(() => rest.userDevices(userId), [rest, userId]);
  const revoke = useCallback((deviceId: string) => rest.revokeDevice(deviceId), [rest]);
  const approve = useCallback((deviceId: string) => rest.approveDevice(deviceId), [rest]);
  return (
    <>
      <label>
        {t('devices.person')}
        <select value={userId} onChange={(e) => setUserId(e.target.value)}>
          <option value="">—</option>
          {[...users.values()].map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName} ({u.email})
            </option>
          ))}
        </select>
      </label>
      {userId && <DeviceList key={userId} load={load} revoke={revoke} approve={approve} />}
    </>
  );
}

function Audit() {
  const { t } = useTranslation();
  const { rest } = useSession();
  const { users } = useDirectory();
  const [events, setEvents] = useState<AuditEvent[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    void rest.auditLog({ limit: 200 }).then(setEvents, (err: unknown) => setError(errorText(t, err)));
  }, [rest, t]);
  return (
    <>
      {error && <p role="alert">{error}</p>}
      <table className="admin-table" data-testid="audit-log">
        <thead>
          <tr>
            <th>{t('admin.when')}</th>
            <th>{t('admin.action')}</th>
            <th>{t('admin.actor')}</th>
            <th>{t('admin.target')}</th>
            <th>{t('admin.address')}</th>
          </tr>
        </thead>
        <tbody>
          {events?.map((e) => (
            <tr key={e.id}>
              <td>{formatDateTime(e.at)}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>{e.actorId ? (users.get(e.actorId)?.displayName ?? e.actorId) : '—'}</td>
              <td>{e.target ?? '—'}</td>
              <td>{e.address ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
