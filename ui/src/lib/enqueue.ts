// Where new files go (account + destination folder, remembered) and `queueFiles`, the
// one function that the drop handler, the file pickers and the E2E test hook all call.
import { get, writable } from 'svelte/store';
import { accounts } from './accounts';
import * as api from './api';
import type { Account, EnqueueReport, UiError } from './api';
import { sync } from './jobs';
import { go } from './router';

export interface Target {
  account: string;
  dest: string;
}

export const TARGET_STORAGE_KEY = 'ferry.target';

function readStored(): Target {
  try {
    const raw = globalThis.localStorage?.getItem(TARGET_STORAGE_KEY);
    const v: unknown = raw ? JSON.parse(raw) : null;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return { account: typeof o.account === 'string' ? o.account : '', dest: typeof o.dest === 'string' ? o.dest : '' };
    }
  } catch {
    // unreadable or disabled storage: start empty
  }
  return { account: '', dest: '' };
}

/** The last chosen account and destination. */
export const target = writable<Target>(readStored());

export function setTarget(next: Target): void {
  target.set(next);
  try {
    globalThis.localStorage?.setItem(TARGET_STORAGE_KEY, JSON.stringify(next));
  } catch {
    // storage disabled: remembered for this session only
  }
}

/** The remembered account if it still exists, else the first one, else none. */
export function effectiveAccount(chosen: string, list: readonly Account[] | null): string {
  if (!list || list.length === 0) return '';
  return list.some((a) => a.name === chosen) ? chosen : list[0].name;
}

export type EnqueueOutcome =
  | { kind: 'queued'; report: EnqueueReport; account: string; dest: string }
  | { kind: 'no-account' }
  | { kind: 'error'; error: UiError };

/** What the last `queueFiles` did, for the Queue page's notice. */
export const lastEnqueue = writable<EnqueueOutcome | null>(null);

/**
 * Queues dropped or picked paths (files or folders) for the chosen account and destination,
 * and shows the Queue. Resolves to what happened.
 */
export async function queueFiles(paths: string[]): Promise<EnqueueOutcome> {
  const list = paths.filter((p) => p.trim() !== '');
  go('queue');
  const chosen = get(target);
  const account = effectiveAccount(chosen.account, get(accounts));
  let outcome: EnqueueOutcome;
  if (list.length === 0) {
    return { kind: 'queued', report: { queued: [], rejected: [], notes: [] }, account, dest: chosen.dest };
  } else if (account === '') {
    outcome = { kind: 'no-account' };
  } else {
    try {
      const report = await api.enqueue(list, account, chosen.dest.trim());
      outcome = { kind: 'queued', report, account, dest: chosen.dest.trim() };
      void sync();
    } catch (e) {
      outcome = { kind: 'error', error: api.toUiError(e) };
    }
  }
  lastEnqueue.set(outcome);
  return outcome;
}
