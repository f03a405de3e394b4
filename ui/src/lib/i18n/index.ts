// A small store-based i18n: `$t('key', { param })` in components, `translate()` elsewhere.
// The language follows navigator.language (zh* → zh, else en) until the user picks one,
// which is then remembered in localStorage.
import { derived, writable } from 'svelte/store';
import { en, type MessageKey, type Messages } from './en';
import { zh } from './zh';

export type { MessageKey } from './en';
export type Lang = 'en' | 'zh';
export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey | (string & {}), params?: Params) => string;

export const LANGS: readonly Lang[] = ['en', 'zh'];
export const LANG_STORAGE_KEY = 'ferry.lang';

const dictionaries: Record<Lang, Messages> = { en, zh };

export function isMessageKey(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}

/** zh, zh-CN, zh-Hans-TW… → zh; anything else (or nothing) → en. */
export function detectLang(language: string | undefined | null): Lang {
  return language?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

function readStored(): Lang | null {
  try {
    const v = globalThis.localStorage?.getItem(LANG_STORAGE_KEY);
    return v && (LANGS as readonly string[]).includes(v) ? (v as Lang) : null;
  } catch {
    return null; // storage disabled: just don't remember
  }
}

export function initialLang(): Lang {
  return readStored() ?? detectLang(globalThis.navigator?.language);
}

/** The message for `key` in `lang` (English if missing, the key itself if unknown). */
export function translate(lang: Lang, key: string, params?: Params): string {
  const text = isMessageKey(key) ? dictionaries[lang][key] || en[key] : key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

export const lang = writable<Lang>(initialLang());

export const t = derived(lang, ($lang): Translate => (key, params) => translate($lang, key, params));

/** Switches the language and remembers the choice. */
export function setLang(next: Lang): void {
  lang.set(next);
  try {
    globalThis.localStorage?.setItem(LANG_STORAGE_KEY, next);
  } catch {
    // storage disabled: the choice lasts for this session only
  }
}

if (typeof document !== 'undefined') {
  lang.subscribe(($lang) => {
    document.documentElement.lang = $lang === 'zh' ? 'zh-CN' : 'en';
  });
}

/** The message key for a count: `key` in general, `key + 'One'` (where it exists) for one. */
export function countKey(key: MessageKey, n: number): MessageKey {
  const one = `${key}One`;
  return n === 1 && isMessageKey(one) ? one : key;
}
