// How a watch reads to people: its status as a label, a tone and a hint, its rules and its
// after-upload action. Every word comes from the message catalogues.
import type { AfterUpload, Watch, WatchNote, WatchStatus } from '../lib/api';
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
  stopped: 'off',
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

/** One thing the watch service noted, in the reader's language. */
export function noteText(t: Translate, note: WatchNote): string {
  switch (note.note) {
    case 'scanned':
      return t(countKey('watches.note.scanned', note.folders), { files: note.files, folders: note.folders });
    case 'unreadable': {
      const list = note.first.map((u) => t('watches.note.unreadableItem', { path: u.path, error: u.error })).join(', ');
      return t(countKey('watches.note.unreadable', note.count), { count: note.count, list });
    }
    case 'links_skipped':
      return t(countKey('watches.note.linksSkipped', note.count), { count: note.count });
    case 'live_watches':
      return t('watches.note.liveWatches', { used: note.used, limit: note.limit });
    case 'polling':
      return t('watches.note.polling', {
        folders: note.folders,
        limit: note.limit === null ? '' : t('watches.note.pollingLimit', { limit: note.limit }),
        error: note.error,
        every: note.every_secs,
      });
    case 'missing':
      return t('watches.note.missing', { dir: note.dir });
    case 'cannot_read':
      return t('watches.note.cannotRead', { dir: note.dir, error: note.error });
    case 'scan_failed':
      return t('watches.note.scanFailed', { error: note.error });
    case 'cannot_queue':
      return t('watches.note.cannotQueue', { error: note.error });
    case 'bad_rules':
      return t('watches.note.badRules', { error: note.error });
  }
}

/** The watch service's notes on a watch as one line; '' when there are none. */
export function notesLine(t: Translate, notes: readonly WatchNote[]): string {
  return notes.map((n) => noteText(t, n)).join(t('watches.noteSeparator'));
}
