// The Settings form: engine settings as text fields people edit (sizes in MiB, bandwidth
// in KiB/s or MiB/s) and back, with the engine's own limits checked before saving.
import type { EngineSettings } from './api';
import type { MessageKey, Params } from './i18n';

export const MIB = 1024 * 1024;
export const KIB = 1024;

export type BandwidthUnit = 'KiB' | 'MiB';
export const BANDWIDTH_UNITS: readonly BandwidthUnit[] = ['KiB', 'MiB'];

export interface SettingsDraft {
  max_files: string;
  parts_per_file: string;
  /** In `bandwidth_unit` per second; 0 = unlimited. */
  bandwidth: string;
  bandwidth_unit: BandwidthUnit;
  /** MiB. */
  part_size: string;
  retry_attempts: string;
  retry_base_ms: string;
  job_attempts: string;
  /** Seconds. */
  quiet_secs: string;
}

export type SettingsField = keyof EngineSettings;

export interface FieldError {
  key: MessageKey;
  params?: Params;
}

export type Validated = { ok: true; settings: EngineSettings } | { ok: false; errors: Partial<Record<SettingsField, FieldError>> };

/** Whole-number fields and their limits (the engine's, see transfer/settings.rs). */
const COUNTS: [SettingsField, number, number][] = [
  ['max_files', 1, 64],
  ['parts_per_file', 1, 64],
  ['retry_attempts', 1, 100],
  ['retry_base_ms', 1, 600_000],
  ['job_attempts', 1, 100],
  ['quiet_secs', 1, 3600],
];

/** The largest part size the engine accepts, in MiB (5 GiB). */
export const MAX_PART_MIB = 5 * 1024;

/** Drops trailing zeros: 1.50 → "1.5", 2.00 → "2". */
function decimal(n: number): string {
  return String(Math.round(n * 100) / 100);
}

export function draftFrom(s: EngineSettings): SettingsDraft {
  const unit: BandwidthUnit = s.bandwidth === 0 || s.bandwidth >= MIB ? 'MiB' : 'KiB';
  return {
    max_files: String(s.max_files),
    parts_per_file: String(s.parts_per_file),
    bandwidth: decimal(s.bandwidth / (unit === 'MiB' ? MIB : KIB)),
    bandwidth_unit: unit,
    part_size: decimal(s.part_size / MIB),
    retry_attempts: String(s.retry_attempts),
    retry_base_ms: String(s.retry_base_ms),
    job_attempts: String(s.job_attempts),
    quiet_secs: String(s.quiet_secs),
  };
}

function number(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return null;
  return Number(trimmed);
}

export function validate(d: SettingsDraft): Validated {
  const errors: Partial<Record<SettingsField, FieldError>> = {};
  const out: Record<string, number> = {};
  for (const [field, min, max] of COUNTS) {
    const n = number(d[field]);
    if (n === null || !Number.isInteger(n)) errors[field] = { key: 'settings.errorWhole' };
    else if (n < min || n > max) errors[field] = { key: 'settings.errorRange', params: { min, max } };
    else out[field] = n;
  }
  const bw = number(d.bandwidth);
  if (bw === null) errors.bandwidth = { key: 'settings.errorNumber' };
  else out.bandwidth = Math.round(bw * (d.bandwidth_unit === 'MiB' ? MIB : KIB));
  const part = number(d.part_size);
  if (part === null) errors.part_size = { key: 'settings.errorNumber' };
  else if (part <= 0 || part > MAX_PART_MIB) errors.part_size = { key: 'settings.errorPartSize', params: { max: MAX_PART_MIB } };
  else out.part_size = Math.max(1, Math.round(part * MIB));
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, settings: out as unknown as EngineSettings };
}

export function sameSettings(a: EngineSettings, b: EngineSettings): boolean {
  return (Object.keys(a) as SettingsField[]).every((k) => a[k] === b[k]);
}
