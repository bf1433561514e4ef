import { useTranslation } from 'react-i18next';
import { useUserName } from '../session/directory';
import { useTyping } from './useTyping';

export function TypingIndicator({ channelId, threadRootId }: { channelId: string; threadRootId: string | null }) {
  const { t } = useTranslation();
  const name = useUserName();
  const typing = useTyping(channelId, threadRootId);
  return (
    <div className="typing" aria-live="polite" data-testid="typing">
      {typing.length === 1 && t('typing.one', { name: name(typing[0]!) })}
      {typing.length > 1 && t('typing.many', { count: typing.length })}
    </div>
  );
}
