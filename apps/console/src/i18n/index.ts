// i18next for the console: English and Simplified Chinese. The shell's strings (namespace `common`) load with
// the first page; every feature brings its own namespace in its own chunk (`registerMessages` at the top of
// its page module), so that features are added without touching a shared file.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { common } from './common';
import { LANGUAGES, type Language, type Messages } from './types';

export { LANGUAGES, type Language, type Messages };
/** Names of the languages in themselves, for the switcher. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', 'zh-CN': '简体中文' };
const STORAGE_KEY = 'vodcloud.language';

/** The language kept in localStorage, else the first of the browser's languages we have, else English. */
export function initialLanguage(
  stored: string | null = safeStorage()?.getItem(STORAGE_KEY) ?? null,
  browser: readonly string[] = typeof navigator === 'undefined' ? [] : navigator.languages,
): Language {
  if (stored && (LANGUAGES as readonly string[]).includes(stored)) return stored as Language;
  for (const tag of browser) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

function safeStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}

/** Adds a feature's namespace (idempotent: a chunk evaluated again adds the same strings). */
export function registerMessages(ns: string, messages: Messages): void {
  initI18n();
  for (const lng of LANGUAGES) i18n.addResourceBundle(lng, ns, messages[lng], true, true);
}

export function setLanguage(lng: Language): void {
  safeStorage()?.setItem(STORAGE_KEY, lng);
  void i18n.changeLanguage(lng);
}

let initialised = false;

/** Starts i18next once (the first module that registers strings, or main.tsx, does). */
export function initI18n(): typeof i18n {
  if (initialised) return i18n;
  initialised = true;
  const lng = initialLanguage();
  void i18n.use(initReactI18next).init({
    lng,
    fallbackLng: 'en',
    supportedLngs: [...LANGUAGES],
    resources: { en: { common: common.en }, 'zh-CN': { common: common['zh-CN'] } },
    defaultNS: 'common',
    ns: ['common'],
    interpolation: { escapeValue: false },
    react: { useSuspense: false },
    initAsync: false,
  });
  const sync = (l: string) => {
    document.documentElement.lang = l;
  };
  sync(lng);
  i18n.on('languageChanged', sync);
  return i18n;
}

export { i18n };
