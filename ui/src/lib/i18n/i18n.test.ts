import { get } from 'svelte/store';
import { describe, expect, it } from 'vitest';
import { SPECS } from '../../test/fixtures';
import { en } from './en';
import { LANG_STORAGE_KEY, detectLang, isMessageKey, lang, setLang, t, translate } from './index';
import { zh } from './zh';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  it('have identical key sets', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  it.each([
    ['en', en],
    ['zh', zh],
  ] as const)('%s has no empty message', (_, messages) => {
    const empty = Object.entries(messages).filter(([, text]) => text.trim() === '');
    expect(empty).toEqual([]);
  });

  it('use the same {placeholders} in both languages', () => {
    const differing = Object.keys(en).filter(
      (key) => placeholders(en[key as keyof typeof en]).join() !== placeholders(zh[key as keyof typeof zh]).join(),
    );
    expect(differing).toEqual([]);
  });

  it('name every provider, setting, choice and error kind', () => {
    const settingKeys = [
      'root', 'app_id', 'api_key', 'api_secret', 'app_key', 'union_id', 'space_id', 'parent_id', 'conflict',
      'app_secret', 'parent_node', 'parent_type', 'domain_id', 'drive_id', 'parent_file_id', 'client_id',
      'client_secret', 'refresh_token',
    ];
    const errorKinds = [
      'invalid_input', 'not_found', 'conflict', 'keyring_unavailable', 'secret_missing', 'storage', 'io', 'auth',
      'permission', 'quota', 'rate_limited', 'expired', 'network', 'server', 'changed', 'unsupported', 'internal',
    ];
    const needed = [
      ...SPECS.map((s) => `provider.${s.kind}`),
      ...settingKeys.flatMap((k) => [`setting.${k}.label`, `setting.${k}.help`]),
      ...SPECS.flatMap((s) => s.settings).flatMap((s) => [
        `setting.${s.key}.label`,
        `setting.${s.key}.help`,
        ...s.choices.map((c) => `choice.${s.key}.${c}`),
      ]),
      ...errorKinds.map((k) => `error.kind.${k}`),
      ...errorKinds.filter((k) => k !== 'internal' && k !== 'conflict' && k !== 'storage').map((k) => `advice.${k}`),
      'advice.other',
      ...['queued', 'hashing', 'uploading', 'committing', 'done', 'paused', 'failed', 'cancelled'].map((s) => `state.${s}`),
      ...['pending', 'in_flight', 'retrying', 'acked'].map((s) => `parts.${s}`),
      ...['pause', 'resume', 'cancel', 'retry'].flatMap((c) => [`queue.${c}`, `queue.${c}Job`]),
      ...['url', 'id', 'name'].map((k) => `history.result.${k}`),
      ...['all', 'done', 'cancelled'].map((s) => `history.state.${s}`),
      ...['max_files', 'parts_per_file', 'bandwidth', 'part_size', 'retry_attempts', 'retry_base_ms', 'job_attempts'].flatMap(
        (f) => [`settings.${f}`, `settings.${f}Help`],
      ),
      ...['KiB', 'MiB'].map((u) => `settings.unit.${u}`),
      ...['B', 'KiB', 'MiB', 'GiB', 'TiB'].map((u) => `unit.${u}`),
      ...['queue', 'history', 'accounts', 'settings'].map((p) => `nav.${p}`),
    ];
    expect(needed.filter((key) => !isMessageKey(key))).toEqual([]);
  });

  it('names iFlytek as asked', () => {
    expect(en['provider.xfyun']).toBe('iFlytek (讯飞)');
    expect(zh['provider.xfyun']).toBe('讯飞开放平台');
  });
});

describe('translate', () => {
  it('fills in parameters and leaves unknown ones', () => {
    expect(translate('en', 'accounts.saved', { name: 'Team' })).toBe('Account “Team” saved.');
    expect(translate('zh', 'accounts.saved', { name: 'Team' })).toBe('账户“Team”已保存。');
    expect(translate('en', 'accounts.saved')).toBe('Account “{name}” saved.');
  });

  it('returns an unknown key as is', () => {
    expect(translate('zh', 'no.such.key')).toBe('no.such.key');
  });
});

describe('language', () => {
  it('follows navigator.language: zh* is Chinese, the rest English', () => {
    expect(detectLang('zh-CN')).toBe('zh');
    expect(detectLang('zh-Hant-TW')).toBe('zh');
    expect(detectLang('ZH')).toBe('zh');
    expect(detectLang('en-US')).toBe('en');
    expect(detectLang('de')).toBe('en');
    expect(detectLang(undefined)).toBe('en');
  });

  it('switches, updates t and <html lang>, and is remembered', () => {
    setLang('zh');
    expect(get(lang)).toBe('zh');
    expect(get(t)('nav.accounts')).toBe('账户');
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(localStorage.getItem(LANG_STORAGE_KEY)).toBe('zh');
    setLang('en');
    expect(get(t)('nav.accounts')).toBe('Accounts');
    expect(localStorage.getItem(LANG_STORAGE_KEY)).toBe('en');
  });
});
