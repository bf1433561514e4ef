import type { DesktopNotify } from '@sotong/protocol';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNotificationPrefs } from '../notify/notificationPrefs';

const LEVELS: DesktopNotify[] = ['all', 'mentions', 'none'];

/** Which messages notify me on the desktop: saved on the server, for every device. */
export function NotificationLevel() {
  const { t } = useTranslation();
  const { prefs, setDesktop } = useNotificationPrefs();
  const [failed, setFailed] = useState(false);
  const choose = (level: DesktopNotify) => {
    setFailed(false);
    setDesktop(level).catch(() => setFailed(true));
  };
  return (
    <fieldset className="notify-level" disabled={!prefs}>
      <legend>{t('notifyPrefs.level')}</legend>
      {LEVELS.map((level) => (
        <label key={level}>
          <input type="radio" name="notify-level" value={level} checked={prefs?.desktop === level} onChange={() => choose(level)} /> {t(`notifyPrefs.${level}`)}
        </label>
      ))}
      {failed && <p role="alert">{t('notifyPrefs.saveFailed')}</p>}
    </fieldset>
  );
}
