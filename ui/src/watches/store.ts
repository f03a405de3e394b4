// The watches as last listed, kept fresh by the watch service's change events.
import { writable } from 'svelte/store';
import * as api from '../lib/api';
import type { Watch } from '../lib/api';
import { coalesced } from '../lib/coalesce';

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

/**
 * Lists the watches again each time the watch service says one changed (its status, notes,
 * pending or queued count): no timer. At most one listing runs at a time; changes heard
 * meanwhile make one more after it. Returns the stop function.
 */
export function followWatches(refresh: () => Promise<unknown>): () => void {
  let stopped = false;
  let unlisten: (() => void) | null = null;
  // The caller's refresh shows its own errors.
  const run = coalesced(async () => (stopped ? undefined : refresh().catch(() => {})));
  api.onWatchesChanged(() => void run()).then(
    (u) => (stopped ? u() : (unlisten = u)),
    () => {},
  );
  return () => {
    stopped = true;
    unlisten?.();
  };
}
