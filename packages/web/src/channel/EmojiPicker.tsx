import { useState } from 'react';
import { useTranslation } from 'react-i18next';

const EMOJI = ['😀', '😂', '😊', '😍', '🤔', '😅', '😭', '😮', '😎', '🙂', '🙏', '👍', '👎', '👏', '🙌', '💪', '👀', '🎉', '❤️', '🔥', '✅', '❌', '⭐', '💡', '📌', '📎', '☕', '🍚', '🚀', '⏰'];

/** A small grid of common emoji; the picked one goes in at the caret. */
export function EmojiPicker({ onPick }: { onPick: (emoji: string) => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <div className="emoji-picker">
      <button type="button" className="icon" aria-label={t('composer.emoji')} aria-expanded={open} title={t('composer.emoji')} onClick={() => setOpen((o) => !o)}>
        😊
      </button>
      {open && (
        <div className="emoji-grid" role="group" aria-label={t('composer.emoji')}>
          {EMOJI.map((emoji) => (
            <button
              key={emoji}
              type="button"
              onClick={() => {
                onPick(emoji);
                setOpen(false);
              }}
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
