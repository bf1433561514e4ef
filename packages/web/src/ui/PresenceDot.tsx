import type { PresenceStatus } from '@sotong/protocol';
import { useTranslation } from 'react-i18next';

export function PresenceDot({ status }: { status: PresenceStatus }) {
  const { t } = useTranslation();
  return <span className={`presence ${status}`} role="img" aria-label={t(`presence.${status}`)} title={t(`presence.${status}`)} />;
}
