import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { initialLanguage, saveLanguage, type Language } from '../settings/prefs';
import { en } from './en';
import { ko } from './ko';

declare module 'i18next' {
  interface CustomTypeOptions {
    resources: { translation: typeof en };
  }
}

export function startI18n(): typeof i18next {
  const lng = initialLanguage();
  document.documentElement.lang = lng;
  void i18next.use(initReactI18next).init({
    lng,
    fallbackLng: 'en',
    resources: { en: { translation: en }, ko: { translation: ko } },
    interpolation: { escapeValue: false },
    initAsync: false,
  });
  return i18next;
}

export function setLanguage(language: Language): void {
  saveLanguage(language);
  document.documentElement.lang = language;
  void i18next.changeLanguage(language);
}

export function currentLanguage(): Language {
  return i18next.language === 'ko' ? 'ko' : 'en';
}
