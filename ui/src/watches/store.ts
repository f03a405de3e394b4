// The watches as last listed, and the timer that keeps them fresh while their page is shown.
import { writable } from 'svelte/store';
import * as api from '../lib/api';
import type { Watch } from '../lib/api';

/** `null` until first loaded. */
export const watches = writable<Watch[] | null>(null);

export async function refreshWatches(): Promise<Watch[]> {
  const list = await api.listWatches();
  watches.set(list);
  return list;
}

/** Puts one watch, as a command returned it, in place of its old row. */
export function replaceWatch(watch: Watch): void {
  watches.update((list) => list?.map((w) => (w.id === watch.id ? watch : w)) ?? list);
}

export const REFRESH_MS = 2000;

/**
 * Calls `refresh` every `everyMs` while the document is visible, and once at once when it
 * becomes visible again; a refresh still running is never doubled. Returns the stop function.
 *
 * This is the one timer the window allows itself (issue #8 forbids polling for the queue):
 * the watch service records status, pending and queued counts in SQLite but sends no event
 * yet, so the Watched folders page re-reads them — only while that page is shown.
 */
export function keepFresh(refresh: () => Promise<unknown>, everyMs: number = REFRESH_MS): () => void {
  let running = false;
  const visible = () => document.visibilityState !== 'hidden';
  const tick = () => {
    if (running || !visible()) return;
    running = true;
    refresh()
      .catch(() => {}) // the caller's refresh shows its own errors
      .finally(() => (running = false));
  };
  const timer = setInterval(tick, everyMs);
  const onVisibility = () => {
    if (visible()) tick();
  };
  document.addEventListener('visibilitychange', onVisibility);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
