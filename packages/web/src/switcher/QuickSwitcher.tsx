import { useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useClientState } from '../session/context';
import { useUserName } from '../session/directory';
import { channelLabel } from '../sidebar/labels';
import { Dialog } from '../ui/Dialog';

/** Ctrl/⌘-K: type part of a channel or person's name, arrows to pick, Enter to open. */
export function QuickSwitcher({ onOpen, onClose }: { onOpen: (channelId: string) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const { channels, user } = useClientState();
  const name = useUserName();
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState(0);
  const q = query.trim().toLocaleLowerCase();
  const matches = [...channels.values()]
    .map((c) => ({ channel: c, label: channelLabel(c, name, user?.id) }))
    .filter(({ label }) => label.toLocaleLowerCase().includes(q))
    .sort((a, b) => b.channel.unreadCount - a.channel.unreadCount || a.label.localeCompare(b.label))
    .slice(0, 12);

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setSelected((s) => (s + step + matches.length) % Math.max(1, matches.length));
    } else if (event.key === 'Enter' && !event.nativeEvent.isComposing) {
      event.preventDefault();
      const pick = matches[selected];
      if (pick) onOpen(pick.channel.id);
    }
  };

  return (
    <Dialog title={t('switcher.title')} onClose={onClose}>
      <input
        type="text"
        role="combobox"
        aria-expanded="true"
        aria-controls="switcher-list"
        aria-activedescendant={matches[selected] ? `switch-${matches[selected].channel.id}` : undefined}
        aria-label={t('switcher.title')}
        placeholder={t('switcher.placeholder')}
        value={query}
        onChange={(e) => (setQuery(e.target.value), setSelected(0))}
        onKeyDown={onKeyDown}
      />
      <ul id="switcher-list" role="listbox" className="switcher-list">
        {matches.map(({ channel, label }, i) => (
          <li key={channel.id} id={`switch-${channel.id}`} role="option" aria-selected={i === selected} onClick={() => onOpen(channel.id)}>
            {label}
            {channel.unreadCount > 0 && <span className="badge">{channel.unreadCount}</span>}
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
