// Numbers for people: sizes, speeds, time left, dates. The words and units come from
// the translations, so these take the current `t`.
import type { Lang, Translate } from './i18n';

const UNITS = ['unit.B', 'unit.KiB', 'unit.MiB', 'unit.GiB', 'unit.TiB'] as const;

/** 0 → "0 B", 1536 → "1.5 KiB", 42·2²⁰ → "42 MiB": one decimal below 10, none above. */
export function formatBytes(t: Translate, bytes: number): string {
  let n = Math.max(0, bytes);
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit += 1;
  }
  const shown = unit === 0 ? String(Math.round(n)) : n < 10 ? (Math.floor(n * 10) / 10).toFixed(1) : String(Math.floor(n));
  return t(UNITS[unit], { n: shown });
}

/** Bytes per second, e.g. "3.1 MiB/s"; an empty string when nothing moves. */
export function formatRate(t: Translate, bytesPerSec: number): string {
  if (!Number.isFinite(bytesPerSec) || bytesPerSec < 1) return '';
  return t('unit.rate', { size: formatBytes(t, bytesPerSec) });
}

/** Seconds left, or null when it cannot be told (no speed yet, nothing left). */
export function etaSeconds(size: number, bytes: number, rate: number): number | null {
  const left = size - bytes;
  if (left <= 0 || !Number.isFinite(rate) || rate < 1) return null;
  return Math.ceil(left / rate);
}

/** 42 → "42 s", 125 → "2 min 5 s", 7300 → "2 h 1 min", 2 days+ → "2 d 3 h". */
export function formatDuration(t: Translate, seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return t('time.seconds', { s });
  if (s < 3600) return t('time.minutes', { m: Math.floor(s / 60), s: s % 60 });
  if (s < 86400) return t('time.hours', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t('time.days', { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) });
}

/** The ETA column: "2 min 5 s" or an empty string. */
export function formatEta(t: Translate, size: number, bytes: number, rate: number): string {
  const s = etaSeconds(size, bytes, rate);
  return s === null ? '' : formatDuration(t, s);
}

const locales: Record<Lang, string> = { en: 'en-GB', zh: 'zh-CN' };

/** A moment (unix ms) as local date and time, in the UI's language. */
export function formatTime(lang: Lang, ms: number): string {
  return new Intl.DateTimeFormat(locales[lang], { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
}

/** Only the time of day when it is today, else date and time. */
export function formatWhen(lang: Lang, ms: number, now = Date.now()): string {
  const day = (d: Date) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
  if (day(new Date(ms)) === day(new Date(now))) {
    return new Intl.DateTimeFormat(locales[lang], { timeStyle: 'short' }).format(new Date(ms));
  }
  return formatTime(lang, ms);
}

/** A whole percentage, never 100 before the end. */
export function percent(done: number, total: number): number {
  if (total <= 0) return done > 0 ? 100 : 0;
  const p = Math.floor((done / total) * 100);
  return done < total ? Math.min(p, 99) : 100;
}
