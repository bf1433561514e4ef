import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/context';
import { useDirectory } from '../session/directory';
import { Dialog } from '../ui/Dialog';
import { DepartmentTree } from './DepartmentTree';
import { PersonList, type PersonRow } from './PersonList';
import { ProfileCard } from './ProfileCard';
import { useDepartmentMembers, useDepartmentTree, usePeopleSearch } from './useOrgChart';

/**
 * The people directory: the department tree, the people of the chosen department (or everyone),
 * a search by name (Korean syllables too) or email, and a person's profile card with a way to message them.
 */
export function PeopleDirectory({ onOpen, onClose }: { onOpen: (channelId: string) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const { users } = useDirectory();
  const [query, setQuery] = useState('');
  const [departmentId, setDepartmentId] = useState<string | null>(null);
  const [profileId, setProfileId] = useState<string | null>(null);
  const tree = useDepartmentTree();
  const members = useDepartmentMembers(departmentId);
  const found = usePeopleSearch(query);

  const everyone: PersonRow[] = [...users.values()]
    .filter((u) => !u.deactivated)
    .sort((a, b) => a.displayName.localeCompare(b.displayName, 'ko'))
    .map((u) => ({ userId: u.id, displayName: u.displayName, email: u.email, title: null }));
  // Until the server answers (and for guests, who may not search the org chart), the people already known are filtered here.
  const q = query.trim().toLocaleLowerCase();
  const filtered = () => everyone.filter((p) => p.displayName.toLocaleLowerCase().includes(q) || p.email.toLocaleLowerCase().includes(q));
  const people: PersonRow[] | undefined = q ? (found ?? filtered()) : departmentId ? (members === null ? [] : members) : everyone;

  const message = (userId: string) => void client.call('dm.open', { userIds: [userId] }).then((view) => onOpen(view.id), () => {});

  return (
    <Dialog title={t('people.title')} onClose={onClose} wide>
      <input type="search" aria-label={t('people.search')} placeholder={t('people.search')} value={query} onChange={(e) => setQuery(e.target.value)} />
      <div className="people-layout">
        <div className="people-tree">
          <button type="button" className={`link${departmentId === null ? ' selected' : ''}`} aria-pressed={departmentId === null} onClick={() => setDepartmentId(null)}>
            {t('people.everyone')}
          </button>
          {/* Guests may not browse the org chart (null): they get the people they can see. */}
          {tree === undefined ? <p>{t('common.loading')}</p> : tree && <DepartmentTree tree={tree} selected={departmentId} onSelect={setDepartmentId} />}
        </div>
        <div className="people-list" aria-live="polite" aria-busy={people === undefined}>
          {people === undefined ? <p>{t('common.loading')}</p> : <PersonList people={people} onProfile={setProfileId} onMessage={message} />}
        </div>
        {profileId && (
          <div className="people-profile">
            <ProfileCard userId={profileId} onProfile={setProfileId} onMessage={message} />
          </div>
        )}
      </div>
    </Dialog>
  );
}
