import type { SearchHit } from '@sotong/protocol';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../i18n/format';
import { useClientState, useSession } from '../session/context';
import { useDirectory, useUserName } from '../session/directory';
import { channelLabel } from '../sidebar/labels';
import { PanelHeader } from '../ui/Dialog';
import { errorText } from '../ui/errors';
import { Highlighted } from './Highlighted';

export function SearchPanel({ onClose, onOpen }: { onClose: () => void; onOpen: (channelId: string) => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const { channels, user } = useClientState();
  const { users } = useDirectory();
  const name = useUserName();
  const [query, setQuery] = useState('');
  const [channelId, setChannelId] = useState('');
  const [fromUserId, setFromUserId] = useState('');
  const [has, setHas] = useState<'' | 'file' | 'link'>('');
  const [after, setAfter] = useState('');
  const [hits, setHits] = useState<SearchHit[] | undefined>();
  const [error, setError] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!query.trim()) return;
    setError(undefined);
    try {
      const result = await client.call('search', {
        query: query.trim(),
        ...(channelId ? { channelId } : {}),
        ...(fromUserId ? { fromUserId } : {}),
        ...(has ? { has } : {}),
        ...(after ? { after } : {}),
        limit: 50,
      });
      setHits(result.hits);
    } catch (err) {
      setError(errorText(t, err));
    }
  }

  return (
    <div data-testid="search-panel">
      <PanelHeader title={t('search.title')} onClose={onClose} />
      <form className="panel-body search-form" onSubmit={submit} role="search">
        <label>
          {t('search.query')}
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus data-testid="search-input" />
        </label>
        <label>
          {t('search.in')}
          <select value={channelId} onChange={(e) => setChannelId(e.target.value)}>
            <option value="">{t('search.anywhere')}</option>
            {[...channels.values()].map((c) => (
              <option key={c.id} value={c.id}>
                {channelLabel(c, name, user?.id)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('search.from')}
          <select value={fromUserId} onChange={(e) => setFromUserId(e.target.value)}>
            <option value="">{t('search.anyone')}</option>
            {[...users.values()].map((u) => (
              <option key={u.id} value={u.id}>
                {u.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('search.has')}
          <select value={has} onChange={(e) => setHas(e.target.value as '' | 'file' | 'link')}>
            <option value="">{t('search.anything')}</option>
            <option value="file">{t('search.hasFile')}</option>
            <option value="link">{t('search.hasLink')}</option>
          </select>
        </label>
        <label>
          {t('search.after')}
          <input type="date" value={after} onChange={(e) => setAfter(e.target.value)} />
        </label>
        <button type="submit" className="primary">
          {t('search.submit')}
        </button>
      </form>
      {error && <p role="alert">{error}</p>}
      {hits && (
        <ol className="panel-body hits" aria-label={t('search.results')}>
          {hits.length === 0 && <li>{t('search.none')}</li>}
          {hits.map((hit) => (
            <li key={hit.message.id} data-testid="search-hit">
              <button type="button" className="hit" onClick={() => onOpen(hit.message.channelId)}>
                <span className="hit-meta">
                  #{hit.channelName} · {name(hit.message.senderId)} · {formatDateTime(hit.message.createdAt)}
                </span>
                <span className="hit-text">
                  <Highlighted text={hit.snippet} ranges={hit.highlights} />
                </span>
              </button>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
