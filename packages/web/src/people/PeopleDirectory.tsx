import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useClientState, useSession } from '../session/context';
import { useDirectory } from '../session/directory';
import { Dialog } from '../ui/Dialog';
import { PresenceDot } from '../ui/PresenceDot';

/** Everyone in the workspace, searchable by name or email, with presence and a way to message them. */
export function PeopleDirectory({ onOpen, onClose }: { onOpen: (channelId: string) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const { users, presence } = useDirectory();
  const { user: me } = useClientState();
  const [filter, setFilter] = useState('');
  const q = filter.trim().toLocaleLowerCase();
  const people = [...users.values()]
    .filter((u) => !u.deactivated && (u.displayName.toLocaleLowerCase().includes(q) || u.email.toLocaleLowerCase().includes(q)))
    .sort((a, b) => a.displayName.localeCompare(b.displayName));
  const message = (userId: string) => void client.call('dm.open', { userIds: [userId] }).then((view) => onOpen(view.id), () => {});

  return (
    <Dialog title={t('people.title')} onClose={onClose}>
      <input type="search" aria-label={t('people.search')} placeholder={t('people.search')} value={filter} onChange={(e) => setFilter(e.target.value)} />
      <ul className="browse-list" data-testid="people">
        {people.length === 0 && <li>{t('people.none')}</li>}
        {people.map((u) => (
          <li key={u.id}>
            <span>
              <PresenceDot status={presence.get(u.id) ?? 'offline'} /> <strong>{u.displayName}</strong> <small>{u.email}</small> <small>· {t(`roles.${u.role}`)}</small>
            </span>
            {u.id !== me?.id && (
              <button type="button" onClick={() => message(u.id)}>
                {t('members.message')}
              </button>
            )}
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
