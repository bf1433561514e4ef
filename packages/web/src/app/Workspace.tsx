import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { AdminConsole } from '../admin/AdminConsole';
import { ChannelBrowser } from '../browse/ChannelBrowser';
import { CreateChannel } from '../browse/CreateChannel';
import { NewDm } from '../browse/NewDm';
import { ChannelView } from '../channel/ChannelView';
import { FilesPanel } from '../files/FilesPanel';
import { MembersPanel } from '../members/MembersPanel';
import { useNotifications } from '../notify/useNotifications';
import { useUnreadTitle } from '../notify/useUnreadTitle';
import { PeopleDirectory } from '../people/PeopleDirectory';
import { PinsPanel } from '../pins/PinsPanel';
import { Profile } from '../profile/Profile';
import { SearchPanel } from '../search/SearchPanel';
import { useClientState } from '../session/context';
import { Settings } from '../settings/Settings';
import { Sidebar } from '../sidebar/Sidebar';
import { QuickSwitcher } from '../switcher/QuickSwitcher';
import { ThreadPanel } from '../threads/ThreadPanel';
import { ConnectionBanner } from './ConnectionBanner';
import type { Dialog, Panel } from './panels';

export function Workspace({ onSignOut }: { onSignOut: () => void }) {
  const { t } = useTranslation();
  const { channels } = useClientState();
  const [channelId, setChannelId] = useState<string | null>(null);
  const [panel, setPanel] = useState<Panel | null>(null);
  const [dialog, setDialog] = useState<Dialog | null>(null);

  useUnreadTitle();
  useNotifications();

  // Open the first channel at the start, and when the open one goes away (left, kicked). A channel
  // just created or joined may not be in the list yet: wait for it rather than jump elsewhere.
  const seen = useRef(new Set<string>());
  useEffect(() => {
    if (channelId && channels.has(channelId)) {
      seen.current.add(channelId);
      return;
    }
    if (channelId && !seen.current.has(channelId)) return;
    const first = [...channels.values()].find((c) => c.kind === 'public' || c.kind === 'private') ?? channels.values().next().value;
    setChannelId(first?.id ?? null);
  }, [channels, channelId]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k') {
        event.preventDefault();
        setDialog('switcher');
      } else if (event.key === 'Escape' && !event.defaultPrevented) {
        if (dialog) setDialog(null);
        else if (panel) setPanel(null);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [dialog, panel]);

  const open = (id: string) => {
    setChannelId(id);
    setDialog(null);
    if (panel?.kind === 'thread' || panel?.kind === 'pins' || panel?.kind === 'members' || panel?.kind === 'files') setPanel(null);
  };
  const close = () => setDialog(null);

  return (
    <div className="workspace">
      <a className="skip-link" href="#composer-input">
        {t('a11y.skipToComposer')}
      </a>
      <Sidebar current={channelId} onOpen={open} onDialog={setDialog} onSignOut={onSignOut} />
      <main className="main" aria-label={t('a11y.conversation')}>
        <ConnectionBanner />
        {channelId ? (
          <ChannelView key={channelId} channelId={channelId} panel={panel} onPanel={setPanel} />
        ) : (
          <p className="empty">{t('channel.none')}</p>
        )}
      </main>
      {panel && (
        <aside className="panel" aria-label={t(`panel.${panel.kind}`)}>
          {panel.kind === 'thread' && channelId && <ThreadPanel key={panel.rootId} channelId={channelId} rootId={panel.rootId} onClose={() => setPanel(null)} />}
          {panel.kind === 'members' && channelId && <MembersPanel channelId={channelId} onClose={() => setPanel(null)} onOpen={open} />}
          {panel.kind === 'pins' && channelId && <PinsPanel channelId={channelId} onClose={() => setPanel(null)} />}
          {panel.kind === 'search' && <SearchPanel onClose={() => setPanel(null)} onOpen={open} />}
          {panel.kind === 'files' && channelId && <FilesPanel key={channelId} channelId={channelId} onClose={() => setPanel(null)} />}
        </aside>
      )}
      {dialog === 'switcher' && <QuickSwitcher onOpen={open} onClose={close} />}
      {dialog === 'settings' && <Settings onClose={close} />}
      {dialog === 'browser' && <ChannelBrowser onOpen={open} onClose={close} />}
      {dialog === 'create' && <CreateChannel onOpen={open} onClose={close} />}
      {dialog === 'newDm' && <NewDm onOpen={open} onClose={close} />}
      {dialog === 'admin' && <AdminConsole onClose={close} />}
      {dialog === 'profile' && <Profile onClose={close} />}
      {dialog === 'people' && <PeopleDirectory onOpen={open} onClose={close} />}
    </div>
  );
}
