import type { OutboxEntry } from '@sotong/sdk';
import { useTranslation } from 'react-i18next';
import { Markdown } from '../markdown/Markdown';
import { useSession } from '../session/context';
import { useUserName } from '../session/directory';

/** A message written but not yet acknowledged: sending, or failed with retry and discard. */
export function PendingItem({ entry }: { entry: OutboxEntry }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const name = useUserName();
  const failed = entry.status === 'failed';
  return (
    <article className={`message pending${failed ? ' failed' : ''}`} data-testid="pending-message" data-status={entry.status}>
      <header>
        <span className="sender">{name(client.user?.id ?? '')}</span>
        <span className="status" role="status">
          {failed ? t('message.failed') : t('message.sending')}
        </span>
      </header>
      <div className="body">
        <Markdown text={entry.text} />
      </div>
      {failed && (
        <div className="retry">
          <button type="button" onClick={() => void client.retrySend(entry.clientMsgId).catch(() => {})}>
            {t('message.retry')}
          </button>
          <button type="button" onClick={() => client.discardSend(entry.clientMsgId)}>
            {t('message.discard')}
          </button>
        </div>
      )}
    </article>
  );
}
