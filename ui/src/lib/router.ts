// Pages are addressed by the URL hash (#/queue, #/accounts), which works from Tauri's
// custom protocol and from the Vite dev server alike, and lets a test open a page.
import { writable } from 'svelte/store';

/** In sidebar order. */
export const PAGES = ['queue', 'history', 'watches', 'accounts', 'settings'] as const;
export type Page = (typeof PAGES)[number];

export function pageFromHash(hash: string): Page | null {
  const name = hash.replace(/^#\/?/, '');
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : null;
}

export function hrefOf(page: Page): string {
  return `#/${page}`;
}

/** The page shown; `null` until the app has decided where to start. */
export const page = writable<Page | null>(
  typeof location === 'undefined' ? null : pageFromHash(location.hash),
);

export function go(next: Page): void {
  page.set(next);
  if (typeof location !== 'undefined' && location.hash !== hrefOf(next)) location.hash = hrefOf(next);
}

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', () => {
    const next = pageFromHash(location.hash);
    if (next) page.set(next);
  });
}

/** Where the window opens: on Accounts while there is none to upload to, else on Queue. */
export function startPage(accountCount: number): Page {
  return accountCount === 0 ? 'accounts' : 'queue';
}
