import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../test/fixtures';
import { draftFrom, MIB, sameSettings, validate, type SettingsDraft } from './settingsForm';

describe('settings form', () => {
  it('shows sizes in MiB and bandwidth in a readable unit, and reads them back unchanged', () => {
    const d = draftFrom(SETTINGS);
    expect(d).toMatchObject({ part_size: '8', bandwidth: '0', bandwidth_unit: 'MiB', max_files: '3' });
    const back = validate(d);
    expect(back.ok && sameSettings(back.settings, SETTINGS)).toBe(true);
    expect(draftFrom({ ...SETTINGS, bandwidth: 3 * MIB })).toMatchObject({ bandwidth: '3', bandwidth_unit: 'MiB' });
    expect(draftFrom({ ...SETTINGS, bandwidth: 512 * 1024 })).toMatchObject({ bandwidth: '512', bandwidth_unit: 'KiB' });
    expect(draftFrom({ ...SETTINGS, part_size: 5_242_880 + MIB / 2 })).toMatchObject({ part_size: '5.5' });
  });

  it('turns units into bytes', () => {
    const d: SettingsDraft = { ...draftFrom(SETTINGS), bandwidth: '1.5', bandwidth_unit: 'MiB', part_size: '5' };
    const r = validate(d);
    expect(r.ok && r.settings.bandwidth).toBe(1.5 * MIB);
    expect(r.ok && r.settings.part_size).toBe(5 * MIB);
    const k = validate({ ...d, bandwidth: '200', bandwidth_unit: 'KiB' });
    expect(k.ok && k.settings.bandwidth).toBe(200 * 1024);
  });

  it('refuses what the engine would refuse, naming each field', () => {
    const r = validate({
      ...draftFrom(SETTINGS),
      max_files: '0',
      parts_per_file: '2.5',
      bandwidth: '-1',
      part_size: '6000',
      retry_attempts: 'many',
      retry_base_ms: '600001',
      job_attempts: ' 4 ',
      quiet_secs: '3601',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      max_files: { key: 'settings.errorRange', params: { min: 1, max: 64 } },
      parts_per_file: { key: 'settings.errorWhole' },
      bandwidth: { key: 'settings.errorNumber' },
      part_size: { key: 'settings.errorPartSize', params: { max: 5120 } },
      retry_attempts: { key: 'settings.errorWhole' },
      retry_base_ms: { key: 'settings.errorRange', params: { min: 1, max: 600000 } },
      quiet_secs: { key: 'settings.errorRange', params: { min: 1, max: 3600 } },
    });
  });
});
