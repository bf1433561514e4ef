import { useTranslation } from 'react-i18next';
import { useClientState } from '../session/context';
import { useDirectory } from '../session/directory';
import { PresenceDot } from '../ui/PresenceDot';
import { useProfile } from './useOrgChart';

/** One person: department path, title, manager, how to reach them, and a button that opens the DM. */
export function ProfileCard({ userId, onProfile, onMessage }: { userId: string; onProfile: (userId: string) => void; onMessage: (userId: string) => void }) {
  const { t } = useTranslation();
  const profile = useProfile(userId);
  const { presence } = useDirectory();
  const { user: me } = useClientState();
  if (profile === undefined) return <p>{t('common.loading')}</p>;
  if (profile === null) return <p role="alert">{t('people.profileFailed')}</p>;
  return (
    <section className="profile-card" aria-labelledby="profile-card-name" data-testid="profile-card">
      <h3 id="profile-card-name">
        <PresenceDot status={presence.get(profile.userId) ?? 'offline'} /> {profile.displayName}
      </h3>
      <dl>
        <dt>{t('people.jobTitle')}</dt>
        <dd data-testid="profile-title">{profile.title ?? '—'}</dd>
        <dt>{t('people.department')}</dt>
        <dd data-testid="profile-path">{profile.departmentPath.length > 0 ? profile.departmentPath.map((d) => d.name).join(' › ') : '—'}</dd>
        <dt>{t('people.manager')}</dt>
        <dd data-testid="profile-manager">
          {profile.manager ? (
            <button type="button" className="link" onClick={() => onProfile(profile.manager!.userId)}>
              {profile.manager.displayName}
            </button>
          ) : (
            '—'
          )}
        </dd>
        <dt>{t('people.email')}</dt>
        <dd>
          <a href={`mailto:${profile.email}`}>{profile.email}</a>
        </dd>
        <dt>{t('people.phone')}</dt>
        <dd>{profile.phone ? <a href={`tel:${profile.phone.replace(/\s/g, '')}`}>{profile.phone}</a> : '—'}</dd>
      </dl>
      {profile.userId !== me?.id && (
        <button type="button" className="primary" onClick={() => onMessage(profile.userId)}>
          {t('people.sendMessage')}
        </button>
      )}
    </section>
  );
}
