/** Preferences that are not secret and belong to this browser: kept in localStorage. */
export type Language = 'ko' | 'en';
export type Theme = 'system' | 'light' | 'dark';

const LANGUAGE_KEY = 'sotong:language';
const THEME_KEY = 'sotong:theme';

function read(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Private mode or storage full: the choice lasts for this tab only.
  }
}

/** The saved choice, else Korean when the browser's first preference is Korean, else English. */
export function initialLanguage(): Language {
  const saved = read(LANGUAGE_KEY);
  if (saved === 'ko' || saved === 'en') return saved;
  const preferred = navigator.languages?.[0] ?? navigator.language ?? 'en';
  return preferred.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export function saveLanguage(language: Language): void {
  write(LANGUAGE_KEY, language);
}

export function initialTheme(): Theme {
  const saved = read(THEME_KEY);
  return saved === 'light' || saved === 'dark' ? saved : 'system';
}

export function applyTheme(theme: Theme): void {
  write(THEME_KEY, theme);
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}
