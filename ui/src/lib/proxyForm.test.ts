import { describe, expect, it } from 'vitest';
import { proxyChanged, proxyDraftFrom, validateProxy, type ProxyDraft } from './proxyForm';

const custom = (over: Partial<ProxyDraft> = {}): ProxyDraft => ({
  mode: 'custom',
  url: 'http://127.0.0.1:3128',
  user: '',
  password: '',
  saved: false,
  clear: false,
  ...over,
});

describe('proxy form', () => {
  it('reads the stored setting into a mode, never with credentials', () => {
    expect(proxyDraftFrom({ proxy: 'system', has_credentials: false })).toMatchObject({ mode: 'system', url: '' });
    expect(proxyDraftFrom({ proxy: 'none', has_credentials: false })).toMatchObject({ mode: 'none' });
    expect(proxyDraftFrom({ proxy: 'socks5://h:1080', has_credentials: true })).toEqual({
      mode: 'custom',
      url: 'socks5://h:1080',
      user: '',
      password: '',
      saved: true,
      clear: false,
    });
  });

  it('sends system and none without credentials', () => {
    expect(validateProxy({ ...custom({ saved: true }), mode: 'system' })).toEqual({ ok: true, input: { proxy: 'system', credentials: { action: 'clear' } } });
    expect(validateProxy({ ...custom(), mode: 'none' })).toEqual({ ok: true, input: { proxy: 'none', credentials: { action: 'clear' } } });
  });

  it('keeps saved credentials unless new ones are typed or they are cleared', () => {
    expect(validateProxy(custom({ saved: true }))).toEqual({ ok: true, input: { proxy: 'http://127.0.0.1:3128', credentials: { action: 'keep' } } });
    expect(validateProxy(custom({ saved: true, clear: true }))).toMatchObject({ ok: true, input: { credentials: { action: 'clear' } } });
    expect(validateProxy(custom({ saved: true, user: ' me ', password: 'p w' }))).toEqual({
      ok: true,
      input: { proxy: 'http://127.0.0.1:3128', credentials: { action: 'set', user: 'me', password: 'p w' } },
    });
    expect(validateProxy(custom())).toMatchObject({ ok: true, input: { credentials: { action: 'clear' } } });
  });

  it('refuses what the engine would refuse, naming each field', () => {
    for (const url of ['', 'proxy:3128', 'ftp://h:21', 'http://h:1/path', 'http://h:1?x', 'http:// h:1']) {
      expect(validateProxy(custom({ url }))).toEqual({ ok: false, errors: { proxy_url: 'settings.proxyErrorUrl' } });
    }
    expect(validateProxy(custom({ url: 'http://me:pw@h:1' }))).toEqual({ ok: false, errors: { proxy_url: 'settings.proxyErrorUserinfo' } });
    expect(validateProxy(custom({ url: 'socks5://h' }))).toEqual({ ok: false, errors: { proxy_url: 'settings.proxyErrorPort' } });
    expect(validateProxy(custom({ user: 'a:b', password: 'x' }))).toEqual({ ok: false, errors: { proxy_user: 'settings.proxyErrorUser' } });
    expect(validateProxy(custom({ user: 'me' }))).toEqual({ ok: false, errors: { proxy_password: 'settings.proxyErrorPassword' } });
    expect(validateProxy(custom({ password: 'x' }))).toEqual({ ok: false, errors: { proxy_user: 'settings.proxyErrorUser' } });
    for (const url of ['https://proxy.example', 'socks5://[::1]:1080', 'socks5h://h:1080', 'HTTP://H:8080/']) {
      expect(validateProxy(custom({ url })).ok, url).toBe(true);
    }
  });

  it('knows when saving would change nothing', () => {
    const saved = { proxy: 'http://127.0.0.1:3128', has_credentials: true };
    expect(proxyChanged(proxyDraftFrom(saved), saved)).toBe(false);
    expect(proxyChanged({ ...proxyDraftFrom(saved), clear: true }, saved)).toBe(true);
    expect(proxyChanged({ ...proxyDraftFrom(saved), password: 'x', user: 'u' }, saved)).toBe(true);
    expect(proxyChanged({ ...proxyDraftFrom(saved), url: 'http://127.0.0.1:3129' }, saved)).toBe(true);
    expect(proxyChanged({ ...proxyDraftFrom(saved), mode: 'none' }, saved)).toBe(true);
    const system = { proxy: 'system', has_credentials: false };
    expect(proxyChanged(proxyDraftFrom(system), system)).toBe(false);
  });
});
