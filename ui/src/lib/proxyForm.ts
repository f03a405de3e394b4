// The Settings form's proxy: System / None / a custom URL with an optional user and
// password. Saved credentials are never sent to the window: it only knows that some are
// saved, shows that, and keeps them unless new ones are typed or they are cleared.
import type { ProxyInput, ProxyView } from './bindings';
import type { MessageKey } from './i18n';

export type ProxyMode = 'system' | 'none' | 'custom';
export const PROXY_MODES: readonly ProxyMode[] = ['system', 'none', 'custom'];

export interface ProxyDraft {
  mode: ProxyMode;
  url: string;
  user: string;
  password: string;
  /** Credentials are saved in the keyring for the stored URL. */
  saved: boolean;
  /** The user asked to forget the saved credentials. */
  clear: boolean;
}

export type ProxyField = 'proxy_url' | 'proxy_user' | 'proxy_password';

export type ProxyValidated =
  | { ok: true; input: ProxyInput }
  | { ok: false; errors: Partial<Record<ProxyField, MessageKey>> };

export function proxyDraftFrom(v: ProxyView): ProxyDraft {
  const mode: ProxyMode = v.proxy === 'system' || v.proxy === 'none' ? v.proxy : 'custom';
  return { mode, url: mode === 'custom' ? v.proxy : '', user: '', password: '', saved: v.has_credentials, clear: false };
}

/** scheme://host:port (the port may be left out for http and https), nothing else. */
const URL_SHAPE = /^(http|https|socks5h?):\/\/([^/@\s:?#]+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?\/?$/i;

export function validateProxy(d: ProxyDraft): ProxyValidated {
  if (d.mode !== 'custom') return { ok: true, input: { proxy: d.mode, credentials: { action: 'clear' } } };
  const errors: Partial<Record<ProxyField, MessageKey>> = {};
  const url = d.url.trim();
  if (url.includes('@')) errors.proxy_url = 'settings.proxyErrorUserinfo';
  else if (!URL_SHAPE.test(url)) errors.proxy_url = 'settings.proxyErrorUrl';
  else {
    const m = URL_SHAPE.exec(url);
    if (m && /^socks/i.test(m[1]) && !m[3]) errors.proxy_url = 'settings.proxyErrorPort';
  }
  const typed = d.user !== '' || d.password !== '';
  if (typed) {
    if (d.user.trim() === '' || d.user.includes(':')) errors.proxy_user = 'settings.proxyErrorUser';
    if (d.password === '') errors.proxy_password = 'settings.proxyErrorPassword';
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const credentials: ProxyInput['credentials'] = typed
    ? { action: 'set', user: d.user.trim(), password: d.password }
    : d.saved && !d.clear
      ? { action: 'keep' }
      : { action: 'clear' };
  return { ok: true, input: { proxy: url.replace(/\/$/, ''), credentials } };
}

/** Whether saving would change anything. */
export function proxyChanged(d: ProxyDraft, saved: ProxyView): boolean {
  const r = validateProxy(d);
  if (!r.ok) return true;
  if (r.input.proxy.toLowerCase() !== saved.proxy.toLowerCase()) return true;
  const c = r.input.credentials;
  return c.action === 'set' || (c.action === 'clear' && saved.has_credentials);
}
