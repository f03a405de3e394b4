import { get } from 'svelte/store';
import { beforeEach, describe, expect, it } from 'vitest';
import type { WatchStatus } from '../lib/api';
import { setLang, t } from '../lib/i18n';
import { watchView } from './fixtures';
import { afterLabel, destLabel, ruleLines, statusHint, statusLabel, statusLine, statusTone } from './labels';

const STATUSES: WatchStatus[] = ['starting', 'scanning', 'watching', 'polling', 'missing', 'error', 'paused'];

beforeEach(() => setLang('en'));

describe('status', () => {
  it('has a human label for every status, in both languages', () => {
    const en = STATUSES.map((s) => statusLabel(get(t), s));
    expect(en).toEqual(['Starting', 'Scanning', 'Watching', 'Rescanning periodically', 'Folder missing', 'Error', 'Paused']);
    setLang('zh');
    const zh = STATUSES.map((s) => statusLabel(get(t), s));
    expect(zh).toEqual(['正在启动', '正在扫描', '正在监视', '定期重新扫描', '文件夹不存在', '出错', '已暂停']);
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
  });

  it('colours all-well, working, attention, broken and off differently', () => {
    expect(STATUSES.map(statusTone)).toEqual(['busy', 'busy', 'ok', 'warn', 'warn', 'bad', 'off']);
  });

  it('adds the files waiting to settle to the status line', () => {
    expect(statusLine(get(t), { status: 'watching', pending: 0 })).toBe('Watching');
    expect(statusLine(get(t), { status: 'watching', pending: 1 })).toBe('Watching · 1 file settling');
    expect(statusLine(get(t), { status: 'scanning', pending: 4 })).toBe('Scanning · 4 files settling');
    setLang('zh');
    expect(statusLine(get(t), { status: 'watching', pending: 4 })).toBe('正在监视 · 4 个文件等待稳定');
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
