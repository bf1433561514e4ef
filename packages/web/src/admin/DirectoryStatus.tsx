import type { DirectoryStatus as Status } from '@sotong/sdk';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../i18n/format';
import { useSession } from '../session/context';
import { errorText } from '../ui/errors';

/** The configured LDAP / Active Directory: its schedule, how the last sync went, and a "sync now" button. */
export function DirectoryStatus() {
  const { t } = useTranslation();
  const { rest } = useSession();
  const [status, setStatus] = useState<Status>();
  const [syncing, setSyncing] = useState(false);
  const [error, setError] = useState<string>();
  const load = useCallback(() => rest.directoryStatus().then(setStatus, (err: unknown) => setError(errorText(t, err))), [rest, t]);
  useEffect(() => void load(), [load]);

  function syncNow() {
    setSyncing(true);
    setError(undefined);
    rest
      .syncDirectory()
      .catch((err: unknown) => setError(errorText(t, err)))
      .then(load)
      .finally(() => setSyncing(false));
  }

  return (
    <section aria-labelledby="directory-title">
      <h3 id="directory-title">{t('adminIdentity.directory')}</h3>
      {error && <p role="alert">{error}</p>}
      {!status && !error && <p>{t('common.loading')}</p>}
      {status && (
        <>
          <dl className="profile" data-testid="directory-status">
            <dt>{t('adminIdentity.configured')}</dt>
            <dd>{t('adminIdentity.yes')}</dd>
            <dt>{t('adminIdentity.schedule')}</dt>
            <dd>{status.intervalSeconds > 0 ? t('adminIdentity.every', { minutes: Math.max(1, Math.round(status.intervalSeconds / 60)) }) : t('adminIdentity.manualOnly')}</dd>
            <dt>{t('adminIdentity.lastSync')}</dt>
            <dd>{status.running ? t('adminIdentity.running') : status.lastFinishedAt ? formatDateTime(status.lastFinishedAt) : t('adminIdentity.never')}</dd>
            {status.last && <LastResult last={status.last} />}
          </dl>
          <button type="button" onClick={syncNow} disabled={syncing || status.running}>
            {syncing ? t('adminIdentity.syncing') : t('adminIdentity.syncNow')}
          </button>
        </>
      )}
    </section>
  );
}

function LastResult({ last }: { last: NonNullable<Status['last']> }) {
  const { t } = useTranslation();
  if ('error' in last)
    return (
      <>
        <dt>{t('adminIdentity.result')}</dt>
        <dd>{t('adminIdentity.failed', { reason: last.error })}</dd>
      </>
    );
  return (
    <>
      <dt>{t('adminIdentity.result')}</dt>
      <dd>{t('adminIdentity.succeeded')}</dd>
      <dt>{t('adminIdentity.counts')}</dt>
      <dd>
        {t('adminIdentity.countsText', {
          people: last.people,
          added: last.added,
          updated: last.updated,
          deactivated: last.deactivated,
          skipped: last.skipped.length,
        })}
      </dd>
    </>
  );
}
