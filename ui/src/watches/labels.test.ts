import { get } from 'svelte/store';
import { beforeEach, describe, expect, it } from 'vitest';
import type { WatchNote, WatchStatus } from '../lib/api';
import { setLang, t } from '../lib/i18n';
import { watchView } from './fixtures';
import { afterLabel, destLabel, noteText, notesLine, ruleLines, statusHint, statusLabel, statusLine, statusTone } from './labels';

const STATUSES: WatchStatus[] = ['starting', 'scanning', 'watching', 'polling', 'missing', 'error', 'paused', 'stopped'];

beforeEach(() => setLang('en'));

describe('status', () => {
  it('has a human label for every status, in both languages', () => {
    const en = STATUSES.map((s) => statusLabel(get(t), s));
    expect(en).toEqual(['Starting', 'Scanning', 'Watching', 'Rescanning periodically', 'Folder missing', 'Error', 'Paused', 'Not watched now']);
    setLang('zh');
    const zh = STATUSES.map((s) => statusLabel(get(t), s));
    expect(zh).toEqual(['正在启动', '正在扫描', '正在监视', '定期重新扫描', '文件夹不存在', '出错', '已暂停', '当前未监视']);
  });

  it('shows a status the Rust side added before its translation as is', () => {
    expect(statusLabel(get(t), 'throttled' as WatchStatus)).toBe('throttled');
    expect(statusHint(get(t), 'throttled' as WatchStatus)).toBe('');
    expect(statusTone('throttled' as WatchStatus)).toBe('bad');
  });

  it('explains the statuses that need it', () => {
    expect(statusHint(get(t), 'polling')).toMatch(/rescans every 30 seconds/);
    expect(statusHint(get(t), 'missing')).toMatch(/comes back/);
    expect(statusHint(get(t), 'watching')).toBe('');
    expect(statusHint(get(t), 'stopped')).toMatch(/when Ferry runs again/);
  });

  it('colours all-well, working, attention, broken and off differently', () => {
    expect(STATUSES.map(statusTone)).toEqual(['busy', 'busy', 'ok', 'warn', 'warn', 'bad', 'off', 'off']);
  });

  it('adds the files waiting to settle to the status line', () => {
    expect(statusLine(get(t), { status: 'watching', pending: 0 })).toBe('Watching');
    expect(statusLine(get(t), { status: 'watching', pending: 1 })).toBe('Watching · 1 file settling');
    expect(statusLine(get(t), { status: 'scanning', pending: 4 })).toBe('Scanning · 4 files settling');
    setLang('zh');
    expect(statusLine(get(t), { status: 'watching', pending: 4 })).toBe('正在监视 · 4 个文件等待稳定');
  });
});

describe('watch service notes', () => {
  it('word every note in both languages', () => {
    const notes: WatchNote[] = [
      { note: 'scanned', files: 7, folders: 1 },
      { note: 'unreadable', count: 2, first: [{ path: '/w/a', error: 'Permission denied (os error 13)' }, { path: '/w/b', error: 'x' }] },
      { note: 'links_skipped', count: 1 },
      { note: 'live_watches', used: 3, limit: 8192 },
      { note: 'polling', folders: 9000, limit: 8192, error: 'OS file watch limit reached', every_secs: 30 },
      { note: 'missing', dir: '/mnt/usb' },
      { note: 'cannot_read', dir: '/w', error: 'Permission denied' },
      { note: 'scan_failed', error: 'task panicked' },
      { note: 'cannot_queue', error: 'database is locked' },
      { note: 'bad_rules', error: 'include: unclosed character class' },
    ];
    expect(notes.map((n) => noteText(get(t), n))).toEqual([
      '7 files in 1 folder',
      '2 folders could not be read: /w/a (Permission denied (os error 13)), /w/b (x)',
      '1 symbolic link to a folder not followed',
      'uses 3 of the system’s 8192 folder watches',
      'the system’s file watcher could not cover 9000 folders (fs.inotify.max_user_watches = 8192): OS file watch limit reached; rescanning every 30 s instead (raise the limit to watch live)',
      '/mnt/usb is not there (an unmounted drive?); waiting for it to come back',
      'cannot read /w: Permission denied',
      'scanning failed: task panicked',
      'cannot queue files: database is locked',
      'the patterns cannot be used: include: unclosed character class',
    ]);
    expect(noteText(get(t), { note: 'polling', folders: 2, limit: null, error: 'e', every_secs: 30 })).toContain('cover 2 folders: e;');
    expect(notesLine(get(t), notes.slice(0, 2))).toBe(`${noteText(get(t), notes[0])}; ${noteText(get(t), notes[1])}`);
    expect(notesLine(get(t), [])).toBe('');
    setLang('zh');
    const zh = notes.map((n) => noteText(get(t), n));
    expect(zh[0]).toBe('1 个文件夹中有 7 个文件');
    expect(zh[5]).toBe('/mnt/usb 不存在（移动硬盘未挂载？）；等待它回来');
    for (const line of zh) expect(line).toMatch(/[\u4e00-\u9fff]/);
  });
});

describe('watch facts', () => {
  it('say what happens after upload', () => {
    expect(afterLabel(get(t), { kind: 'keep' })).toBe('Keep the file');
    expect(afterLabel(get(t), { kind: 'delete' })).toBe('Delete the file once its upload is confirmed');
    expect(afterLabel(get(t), { kind: 'move', dir: '/home/me/Done' })).toBe('Move into /home/me/Done');
  });

  it('say where files go', () => {
    expect(destLabel(get(t), { account: 'disk', dest: '' })).toBe('disk › top level');
    expect(destLabel(get(t), { account: 'disk', dest: 'camera/2024' })).toBe('disk › camera/2024');
  });

  it('list the rules', () => {
    expect(ruleLines(get(t), watchView(1))).toEqual(['All files', 'with sub-folders', 'quiet for 3 s']);
    expect(
      ruleLines(get(t), watchView(1, { include: ['*.jpg', '*.png'], exclude: ['*.raw'], recursive: false, quiet_secs: 10 })),
    ).toEqual(['Only *.jpg, *.png', 'except *.raw', 'this folder only', 'quiet for 10 s']);
  });
});
