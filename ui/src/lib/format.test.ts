import { get } from 'svelte/store';
import { beforeEach, describe, expect, it } from 'vitest';
import { etaSeconds, formatBytes, formatDuration, formatEta, formatRate, percent } from './format';
import { setLang, t } from './i18n';

beforeEach(() => setLang('en'));

describe('sizes and speeds', () => {
  it('uses binary units with one decimal below 10', () => {
    const tr = get(t);
    expect(formatBytes(tr, 0)).toBe('0 B');
    expect(formatBytes(tr, 1023)).toBe('1023 B');
    expect(formatBytes(tr, 1536)).toBe('1.5 KiB');
    expect(formatBytes(tr, 5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(tr, 42 * 1024 * 1024 + 999)).toBe('42 MiB');
    expect(formatBytes(tr, 3.99 * 1024 ** 3)).toBe('3.9 GiB'); // never rounds up past what is there
    expect(formatBytes(tr, 2 * 1024 ** 5)).toBe('2048 TiB');
  });

  it('says nothing for a standing job and bytes per second otherwise', () => {
    const tr = get(t);
    expect(formatRate(tr, 0)).toBe('');
    expect(formatRate(tr, Number.NaN)).toBe('');
    expect(formatRate(tr, 3.2 * 1024 * 1024)).toBe('3.2 MiB/s');
  });
});

describe('time left', () => {
  it('is unknown without speed or when nothing is left', () => {
    expect(etaSeconds(100, 100, 10)).toBeNull();
    expect(etaSeconds(100, 0, 0)).toBeNull();
    expect(etaSeconds(100, 0, 0.5)).toBeNull();
    expect(etaSeconds(100, 10, 30)).toBe(3);
  });

  it('reads in seconds, minutes, hours and days, in both languages', () => {
    const en = get(t);
    expect(formatDuration(en, 42)).toBe('42 s');
    expect(formatDuration(en, 125)).toBe('2 min 5 s');
    expect(formatDuration(en, 7300)).toBe('2 h 1 min');
    expect(formatDuration(en, 2 * 86400 + 3 * 3600)).toBe('2 d 3 h');
    expect(formatEta(en, 40 * 1024 * 1024, 10 * 1024 * 1024, 1024 * 1024)).toBe('30 s');
    expect(formatEta(en, 10, 10, 5)).toBe('');
    setLang('zh');
    expect(formatDuration(get(t), 125)).toBe('2 分 5 秒');
    expect(formatRate(get(t), 2048)).toBe('2.0 KiB/s');
  });
});

describe('percent', () => {
  it('is whole and never 100 before the end', () => {
    expect(percent(0, 0)).toBe(0);
    expect(percent(999, 1000)).toBe(99);
    expect(percent(1000, 1000)).toBe(100);
    expect(percent(1, 3)).toBe(33);
  });
});
