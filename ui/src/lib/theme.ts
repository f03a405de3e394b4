// Light/dark theme: follows prefers-color-scheme unless the user picks one, which is
// remembered in localStorage and applied as <html data-theme="light|dark">.
import { writable } from 'svelte/store';

export type ThemePref = 'system' | 'light' | 'dark';
export const THEMES: readonly ThemePref[] = ['system', 'light', 'dark'];
export const THEME_STORAGE_KEY = 'ferry.theme';

function readStored(): ThemePref {
  try {
    const v = globalThis.localStorage?.getItem(THEME_STORAGE_KEY);
    return v && (THEMES as readonly string[]).includes(v) ? (v as ThemePref) : 'system';
  } catch {
    return 'system';
  }
}

export const theme = writable<ThemePref>(readStored());

export function setTheme(next: ThemePref): void {
  theme.set(next);
  try {
    if (next === 'system') globalThis.localStorage?.removeItem(THEME_STORAGE_KEY);
    else globalThis.localStorage?.setItem(THEME_STORAGE_KEY, next);
  } catch {
    // storage disabled: the choice lasts for this session only
  }
}

if (typeof document !== 'undefined') {
  theme.subscribe(($theme) => {
    if ($theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = $theme;
  });
}
