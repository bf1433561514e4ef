import type { ChannelMember } from '@sotong/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useClientState, useSession } from '../session/context';
import { useDirectory } from '../session/directory';
import { PanelHeader } from '../ui/Dialog';
import { PresenceDot } from '../ui/PresenceDot';

export function MembersPanel({ channelId, onClose, onOpen }: { channelId: string; onClose: () => void; onOpen: (id: string) => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const { users, presence } = useDirectory();
  const { user } = useClientState();
  const [members, setMembers] = useState<ChannelMember[]>([]);
  const [adding, setAdding] = useState('');

  useEffect(() => {
    const load = () => void client.call('channel.members', { channelId }).then(({ members: list }) => setMembers(list), () => {});
    load();
    return client.on('event', (event) => {
      if (event.channelId === channelId && (event.type === 'member.joined' || event.type === 'member.left')) load();
    });
  }, [client, channelId]);

  const memberIds = new Set(members.map((m) => m.userId));
  const invitable = [...users.values()].filter((u) => !memberIds.has(u.id) && !u.deactivated);
  const invite = () => adding && void client.call('channel.invite', { channelId, userIds: [adding] }).then(() => setAdding(''), () => {});
  const message = (userId: string) => void client.call('dm.open', { userIds: [userId] }).then((view) => onOpen(view.id), () => {});

  return (
    <div data-testid="members-panel">
      <PanelHeader title={t('members.title')} onClose={onClose} />
      <div className="panel-body">
        <ul className="people">
          {members.map((m) => (
            <li key={m.userId}>
              <PresenceDot status={presence.get(m.userId) ?? 'offline'} />
              <span>{users.get(m.userId)?.displayName ?? m.userId}</span>
              {m.role === 'owner' && <small>{t('members.owner')}</small>}
              {m.userId !== user?.id && (
                <button type="button" className="link" onClick={() => message(m.userId)}>
                  {t('members.message')}
                </button>
              )}
            </li>
          ))}
        </ul>
        {invitable.length > 0 && (
          <div className="invite">
            <label>
              {t('members.invite')}
              <select value={adding} onChange={(e) => setAdding(e.target.value)}>
                <option value="">—</option>
                {invitable.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.displayName}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" onClick={invite} disabled={!adding}>
              {t('members.add')}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
