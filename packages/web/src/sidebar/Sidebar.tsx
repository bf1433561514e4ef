import type { ChannelView } from '@sotong/protocol';
import { useTranslation } from 'react-i18next';
import type { Dialog } from '../app/panels';
import { useNotificationPrefs } from '../notify/notificationPrefs';
import { useClientState } from '../session/context';
import { useDirectory, useUserName } from '../session/directory';
import { PresenceDot } from '../ui/PresenceDot';
import { channelLabel, isConversation } from './labels';

const IS_MAC = /Mac|iPhone|iPad/.test(navigator.userAgent);

interface Props {
  current: string | null;
  onOpen: (channelId: string) => void;
  onDialog: (dialog: Dialog) => void;
  onSignOut: () => void;
}

export function Sidebar({ current, onOpen, onDialog, onSignOut }: Props) {
  const { t } = useTranslation();
  const { channels, user } = useClientState();
  const name = useUserName();
  const all = [...channels.values()].filter((c) => !c.archived);
  const byName = (a: ChannelView, b: ChannelView) => channelLabel(a, name, user?.id).localeCompare(channelLabel(b, name, user?.id));
  const rooms = all.filter((c) => !isConversation(c)).sort(byName);
  const people = all.filter(isConversation).sort(byName);

  return (
    <nav className="sidebar" aria-label={t('sidebar.label')}>
      <header className="sidebar-header">
        <button type="button" className="me" onClick={() => onDialog('profile')} aria-label={t('profile.open')}>
          {user?.displayName}
        </button>
        <button type="button" onClick={() => onDialog('switcher')} aria-keyshortcuts={IS_MAC ? 'Meta+K' : 'Control+K'}>
          {t('switcher.open', { keys: IS_MAC ? '⌘K' : 'Ctrl+K' })}
        </button>
      </header>
      <Section title={t('sidebar.channels')} items={rooms} current={current} onOpen={onOpen} addLabel={t('sidebar.addChannel')} onAdd={() => onDialog('create')} />
      <button type="button" className="link" onClick={() => onDialog('browser')}>
        {t('sidebar.browse')}
      </button>
      <button type="button" className="link" onClick={() => onDialog('people')}>
        {t('people.title')}
      </button>
      <Section title={t('sidebar.directMessages')} items={people} current={current} onOpen={onOpen} addLabel={t('sidebar.newDm')} onAdd={() => onDialog('newDm')} />
      <footer className="sidebar-footer">
        <button type="button" onClick={() => onDialog('settings')}>
          {t('settings.title')}
        </button>
        {(user?.role === 'admin' || user?.role === 'owner') && (
          <button type="button" onClick={() => onDialog('admin')}>
            {t('admin.title')}
          </button>
        )}
        <button type="button" onClick={onSignOut}>
          {t('signIn.signOut')}
        </button>
      </footer>
    </nav>
  );
}

function Section(props: { title: string; items: ChannelView[]; current: string | null; onOpen: (id: string) => void; addLabel: string; onAdd: () => void }) {
  return (
    <section className="sidebar-section">
      <h2>
        {props.title}
        <button type="button" className="icon" onClick={props.onAdd} aria-label={props.addLabel} title={props.addLabel}>
          +
        </button>
      </h2>
      <ul>
        {props.items.map((channel) => (
          <ChannelItem key={channel.id} channel={channel} current={channel.id === props.current} onOpen={props.onOpen} />
        ))}
      </ul>
    </section>
  );
}

function ChannelItem({ channel, current, onOpen }: { channel: ChannelView; current: boolean; onOpen: (id: string) => void }) {
  const { t } = useTranslation();
  const { user } = useClientState();
  const { presence } = useDirectory();
  const name = useUserName();
  const label = channelLabel(channel, name, user?.id);
  const other = channel.kind === 'dm' ? (channel.memberIds ?? []).find((id) => id !== user?.id) : undefined;
  // A muted channel counts only mentions.
  const muted = useNotificationPrefs().isMuted(channel.id);
  const unread = channel.unreadCount > 0 && !current && !muted;
  return (
    <li>
      <button
        type="button"
        className={`channel-item${current ? ' current' : ''}${unread ? ' unread' : ''}`}
        aria-current={current ? 'page' : undefined}
        onClick={() => onOpen(channel.id)}
        data-channel={channel.name}
      >
        {other ? <PresenceDot status={presence.get(other) ?? 'offline'} /> : <span aria-hidden="true">{channel.kind === 'private' ? '🔒' : channel.kind === 'group_dm' ? '👥' : '#'}</span>}
        <span className="label">{label}</span>
        {muted && (
          <span className="muted" role="img" aria-label={t('notifyPrefs.mutedChannel')} title={t('notifyPrefs.mutedChannel')}>
            🔕
          </span>
        )}
        {channel.mentionCount > 0 && (
          <span className="badge mention" aria-label={t('sidebar.mentions', { count: channel.mentionCount })}>
            @{channel.mentionCount}
          </span>
        )}
        {channel.unreadCount > 0 && !muted && (
          <span className="badge" data-testid="unread-badge" aria-label={t('sidebar.unread', { count: channel.unreadCount })}>
            {channel.unreadCount}
          </span>
        )}
      </button>
    </li>
  );
}
