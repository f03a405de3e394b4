// How a watch reads to people: its status as a label, a tone and a hint, its rules and its
// after-upload action. Every word comes from the message catalogues.
import type { AfterUpload, Watch, WatchStatus } from '../lib/api';
import { countKey, isMessageKey, type Translate } from '../lib/i18n';

/** The colour family of a status: all well, working, needs attention, broken, or off. */
export type StatusTone = 'ok' | 'busy' | 'warn' | 'bad' | 'off';

const TONES: Record<WatchStatus, StatusTone> = {
  starting: 'busy',
  scanning: 'busy',
  watching: 'ok',
  polling: 'warn',
  missing: 'warn',
  error: 'bad',
  paused: 'off',
};

export function statusTone(status: WatchStatus): StatusTone {
  return TONES[status] ?? 'bad';
}

/** "Watching", "Folder missing"…; a status the Rust side added before its translation shows as is. */
export function statusLabel(t: Translate, status: WatchStatus): string {
  const key = `watches.status.${status}`;
  return isMessageKey(key) ? t(key) : status;
}

/** What the status means for the user, where it is not obvious; '' when it is. */
export function statusHint(t: Translate, status: WatchStatus): string {
  const key = `watches.statusHint.${status}`;
  return isMessageKey(key) ? t(key) : '';
}

/** "Watching · 2 files settling": the status, and the files waiting to be stable, if any. */
export function statusLine(t: Translate, watch: Pick<Watch, 'status' | 'pending'>): string {
  const label = statusLabel(t, watch.status);
  if (watch.pending <= 0) return label;
  return t('watches.statusWithPending', { status: label, pending: t(countKey('watches.settling', watch.pending), { n: watch.pending }) });
}

export function afterLabel(t: Translate, after: AfterUpload): string {
  switch (after.kind) {
    case 'keep':
      return t('watches.afterShow.keep');
    case 'delete':
      return t('watches.afterShow.delete');
    case 'move':
      return t('watches.afterShow.move', { dir: after.dir });
  }
}

export function destLabel(t: Translate, watch: Pick<Watch, 'account' | 'dest'>): string {
  return watch.dest === '' ? t('watches.destTop', { account: watch.account }) : t('watches.destIn', { account: watch.account, dest: watch.dest });
}

/** The rules in one line each: which files, which not, sub-folders, quiet period. */
export function ruleLines(t: Translate, watch: Pick<Watch, 'include' | 'exclude' | 'recursive' | 'quiet_secs'>): string[] {
  const lines = [
    watch.include.length > 0 ? t('watches.rulesOnly', { patterns: watch.include.join(', ') }) : t('watches.rulesAll'),
  ];
  if (watch.exclude.length > 0) lines.push(t('watches.rulesExcept', { patterns: watch.exclude.join(', ') }));
  lines.push(t(watch.recursive ? 'watches.rulesRecursive' : 'watches.rulesTopOnly'));
  lines.push(t('watches.rulesQuiet', { n: watch.quiet_secs }));
  return lines;
}
