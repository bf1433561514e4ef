import type { Message } from '@sotong/protocol';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/context';
import { useUserName } from '../session/directory';

const QUICK_EMOJI = ['👍', '❤️', '😂', '🎉', '👀', '✅', '🙏', '😮'];

export function Reactions({ message, me }: { message: Message; me: string }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const name = useUserName();
  if (message.reactions.length === 0) return null;
  return (
    <div className="reactions">
      {message.reactions.map((r) => (
        <button
          key={r.emoji}
          type="button"
          className={r.userIds.includes(me) ? 'reaction mine' : 'reaction'}
          aria-pressed={r.userIds.includes(me)}
          title={r.userIds.map(name).join(', ')}
          aria-label={t('reactions.label', { emoji: r.emoji, count: r.userIds.length })}
          onClick={() => void client.call('reaction.toggle', { messageId: message.id, emoji: r.emoji }).catch(() => {})}
          data-testid="reaction"
        >
          {r.emoji} {r.userIds.length}
        </button>
      ))}
    </div>
  );
}

export function ReactionPicker({ message, onDone }: { message: Message; onDone: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  return (
    <div className="picker" role="group" aria-label={t('reactions.pick')}>
      {QUICK_EMOJI.map((emoji) => (
        <button
          key={emoji}
          type="button"
          onClick={() => {
            void client.call('reaction.toggle', { messageId: message.id, emoji }).catch(() => {});
            onDone();
          }}
        >
          {emoji}
        </button>
      ))}
    </div>
  );
}
