import { describe, expect, it } from 'vitest';
import { DINGTALK_ACCOUNT, XFYUN_ACCOUNT, spec } from '../test/fixtures';
import {
  buildInput,
  emptyValues,
  errorField,
  fieldMessage,
  missingFields,
  switchProvider,
  valuesFromAccount,
} from './accountForm';

describe('initial values', () => {
  it('start a select on its default and everything else empty', () => {
    const v = switchProvider(emptyValues(), spec('dingtalk'));
    expect(v.provider).toBe('dingtalk');
    expect(v.settings).toEqual({ app_key: '', union_id: '', space_id: '', parent_id: '', conflict: 'AUTO_RENAME' });
    expect(v.secrets).toEqual({ app_secret: '' });
  });

  it('for editing carry the settings and never a secret', () => {
    const v = valuesFromAccount(DINGTALK_ACCOUNT, spec('dingtalk'));
    expect(v.name).toBe('team');
    expect(v.endpoint).toBe('https://dt.example.test');
    expect(v.settings.conflict).toBe('OVERWRITE');
    expect(v.secrets).toEqual({ app_secret: '' });
  });
});

describe('missingFields', () => {
  it('asks for the name, required settings without default, and required secrets', () => {
    const v = switchProvider(emptyValues(), spec('dingtalk'));
    expect(missingFields(v, spec('dingtalk'), null)).toEqual({
      name: 'form.required',
      app_key: 'form.required',
      union_id: 'form.required',
      space_id: 'form.required',
      app_secret: 'form.required',
    });
  });

  it('lets a stored secret stay empty on edit', () => {
    const v = valuesFromAccount(XFYUN_ACCOUNT, spec('xfyun'));
    expect(missingFields(v, spec('xfyun'), XFYUN_ACCOUNT)).toEqual({});
  });

  it('asks for a provider first', () => {
    expect(missingFields({ ...emptyValues(), name: 'x' }, undefined, null)).toEqual({ provider: 'form.required' });
  });
});

describe('buildInput', () => {
  it('separates settings from secrets, trims, and omits empty ones', () => {
    const v = switchProvider({ ...emptyValues(), name: '  Team  ', endpoint: ' ' }, spec('pds'));
    v.settings.domain_id = ' d1 ';
    v.settings.drive_id = 'drv';
    v.settings.client_id = 'cid';
    v.secrets.client_secret = 'shh ';
    v.secrets.refresh_token = '';
    expect(buildInput(v, spec('pds'))).toEqual({
      name: 'Team',
      provider: 'pds',
      endpoint: null,
      settings: { domain_id: 'd1', drive_id: 'drv', client_id: 'cid', check_name_mode: 'auto_rename', upload_mode: 'serial' },
      secrets: { client_secret: 'shh' },
    });
  });

  it('drops values of keys the provider does not have', () => {
    const v = { ...emptyValues(spec('local')), name: 'l', endpoint: 'http://x.test' };
    v.settings.root = '/data';
    v.settings.stale = 'from another provider';
    v.secrets.api_key = 'nope';
    expect(buildInput(v, spec('local'))).toEqual({
      name: 'l',
      provider: 'local',
      endpoint: 'http://x.test',
      settings: { root: '/data' },
      secrets: {},
    });
  });
});

describe('errors', () => {
  it('go to a field the form shows, else to the banner', () => {
    const e = (field: string | null) => ({ kind: 'invalid_input' as const, message: 'm', field });
    expect(errorField(e('app_id'), spec('xfyun'))).toBe('app_id');
    expect(errorField(e('endpoint'), spec('xfyun'))).toBe('endpoint');
    expect(errorField(e('name'), undefined)).toBe('name');
    expect(errorField(e('root'), spec('xfyun'))).toBeNull();
    expect(errorField(e(null), spec('xfyun'))).toBeNull();
  });

  it('lose the "field: " prefix next to the field', () => {
    expect(fieldMessage({ kind: 'invalid_input', field: 'root', message: 'root: must be an absolute folder path' })).toBe(
      'must be an absolute folder path',
    );
    expect(fieldMessage({ kind: 'conflict', field: 'name', message: 'an account named "a" already exists' })).toBe(
      'an account named "a" already exists',
    );
  });
});
