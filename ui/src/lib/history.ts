// The History view's logic: what a finished job's result is, and the filter and search.
import type { JobView } from './api';
import type { JobsModel } from './progress';

export type ResultKind = 'url' | 'id' | 'name';

/** What to show and copy for a finished job: the link, else the file id/token, else the name. */
export function resultOf(job: Pick<JobView, 'state' | 'result'>): { kind: ResultKind; value: string } | null {
  const r = job.result;
  if (job.state !== 'done' || !r) return null;
  if (r.url) return { kind: 'url', value: r.url };
  if (r.id) return { kind: 'id', value: r.id };
  if (r.name) return { kind: 'name', value: r.name };
  return null;
}

export type HistoryState = 'all' | 'done' | 'cancelled';
export const HISTORY_STATES: readonly HistoryState[] = ['all', 'done', 'cancelled'];

export interface HistoryFilter {
  /** Words to find in the name, path, account, destination or result (case-insensitive). */
  text: string;
  state: HistoryState;
  /** An account name, or '' for all. */
  account: string;
}

export const noFilter: HistoryFilter = { text: '', state: 'all', account: '' };

export function isFiltered(f: HistoryFilter): boolean {
  return f.text.trim() !== '' || f.state !== 'all' || f.account !== '';
}

/** The ids (in the given order) of the jobs that pass the filter. */
export function filterHistory(model: JobsModel, ids: readonly number[], f: HistoryFilter): number[] {
  if (!isFiltered(f)) return ids as number[];
  const words = f.text.toLowerCase().split(/\s+/).filter(Boolean);
  return ids.filter((id) => {
    const job = model.byId.get(id);
    if (!job) return false;
    if (f.state !== 'all' && job.state !== f.state) return false;
    if (f.account !== '' && job.account !== f.account) return false;
    if (words.length === 0) return true;
    const hay = [job.name, job.file, job.account, job.dest, resultOf(job)?.value ?? ''].join('\n').toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** The accounts that appear in the history, sorted, for the account filter. */
export function historyAccounts(model: JobsModel, ids: readonly number[]): string[] {
  const names = new Set<string>();
  for (const id of ids) {
    const job = model.byId.get(id);
    if (job) names.add(job.account);
  }
  return [...names].sort((a, b) => a.localeCompare(b));
}
