import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { currentLanguage, setLanguage } from '../i18n';
import { Dialog } from '../ui/Dialog';
import { NotificationLevel } from './NotificationLevel';
import { applyTheme, initialTheme, type Language, type Theme } from './prefs';

export function Settings({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const [language, setLang] = useState<Language>(currentLanguage());
  const [theme, setTheme] = useState<Theme>(initialTheme());
  const [permission, setPermission] = useState(typeof Notification === 'undefined' ? 'denied' : Notification.permission);

  return (
    <Dialog title={t('settings.title')} onClose={onClose}>
      <div className="form">
        <label>
          {t('settings.language')}
          <select
            value={language}
            onChange={(e) => {
              const next = e.target.value as Language;
              setLang(next);
              setLanguage(next);
            }}
            data-testid="language"
          >
            <option value="ko">한국어</option>
            <option value="en">English</option>
          </select>
        </label>
        <label>
          {t('settings.theme')}
          <select
            value={theme}
            onChange={(e) => {
              const next = e.target.value as Theme;
              setTheme(next);
              applyTheme(next);
            }}
          >
            <option value="system">{t('settings.themeSystem')}</option>
            <option value="light">{t('settings.themeLight')}</option>
            <option value="dark">{t('settings.themeDark')}</option>
          </select>
        </label>
        <div>
          {t('settings.notifications')}:{' '}
          {permission === 'granted' ? (
            t('settings.notificationsOn')
          ) : permission === 'denied' ? (
            t('settings.notificationsBlocked')
          ) : (
            <button type="button" onClick={() => void Notification.requestPermission().then(setPermission)}>
              {t('settings.notificationsEnable')}
            </button>
          )}
        </div>
        <NotificationLevel />
      </div>
    </Dialog>
  );
}
