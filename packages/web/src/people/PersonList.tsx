import { useTranslation } from 'react-i18next';
import { useClientState } from '../session/context';
import { useDirectory } from '../session/directory';
import { PresenceDot } from '../ui/PresenceDot';

/** What a row shows of a person: from the org chart (with a title) or from the workspace's people. */
export interface PersonRow {
  userId: string;
  displayName: string;
  email: string;
  title: string | null;
}

/** People with presence and title; the name opens their profile, the button a DM. */
export function PersonList({ people, onProfile, onMessage }: { people: PersonRow[]; onProfile: (userId: string) => void; onMessage: (userId: string) => void }) {
  const { t } = useTranslation();
  const { presence } = useDirectory();
  const { user: me } = useClientState();
  return (
    <ul className="browse-list" data-testid="people">
      {people.length === 0 && <li>{t('people.none')}</li>}
      {people.map((p) => (
        <li key={p.userId}>
          <span>
            <PresenceDot status={presence.get(p.userId) ?? 'offline'} />{' '}
            <button type="button" className="link person-name" onClick={() => onProfile(p.userId)} aria-label={t('people.profileOf', { name: p.displayName })}>
              {p.displayName}
            </button>{' '}
            {p.title && <small data-testid="person-title">{p.title}</small>} <small>{p.email}</small>
          </span>
          {p.userId !== me?.id && (
            <button type="button" onClick={() => onMessage(p.userId)} aria-label={t('people.messageTo', { name: p.displayName })}>
              {t('members.message')}
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
