import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useClientState, useSession } from '../session/context';
import { useDirectory } from '../session/directory';
import { Dialog } from '../ui/Dialog';
import { errorText } from '../ui/errors';

/** Pick one person for a DM, or several for a group DM. */
export function NewDm({ onOpen, onClose }: { onOpen: (id: string) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const { users } = useDirectory();
  const { user } = useClientState();
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string>();
  const people = [...users.values()].filter((u) => u.id !== user?.id && !u.deactivated && u.displayName.toLocaleLowerCase().includes(filter.toLocaleLowerCase()));

  const toggle = (id: string) => setPicked((old) => {
    const next = new Set(old);
    if (!next.delete(id)) next.add(id);
    return next;
  });
  const open = async () => {
    try {
      const view = await client.call('dm.open', { userIds: [...picked] });
      onOpen(view.id);
    } catch (err) {
      setError(errorText(t, err));
    }
  };

  return (
    <Dialog title={t('sidebar.newDm')} onClose={onClose}>
      <input type="search" aria-label={t('browse.filter')} placeholder={t('browse.filter')} value={filter} onChange={(e) => setFilter(e.target.value)} />
      <ul className="browse-list">
        {people.map((u) => (
          <li key={u.id}>
            <label>
              <input type="checkbox" checked={picked.has(u.id)} onChange={() => toggle(u.id)} /> {u.displayName} <small>{u.email}</small>
            </label>
          </li>
        ))}
      </ul>
      {error && <p role="alert">{error}</p>}
      <button type="button" className="primary" disabled={picked.size === 0} onClick={() => void open()}>
        {t('dm.start')}
      </button>
    </Dialog>
  );
}
