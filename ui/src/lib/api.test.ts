import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { UiError } from './bindings';

const invoke = vi.hoisted(() => vi.fn());
vi.mock('@tauri-apps/api/core', () => ({ invoke, Channel: class {} }));

const api = await import('./api');

const conflict: UiError = { kind: 'conflict', message: 'an account named "a" already exists', field: 'name' };

beforeEach(() => invoke.mockReset());

describe('unwrap', () => {
  it('returns the data of an ok result', () => {
    expect(api.unwrap({ status: 'ok', data: 42 })).toBe(42);
  });

  it('throws an ApiError carrying the UiError of an error result', () => {
    expect.assertions(5);
    try {
      api.unwrap({ status: 'error', error: conflict });
    } catch (e) {
      expect(e).toBeInstanceOf(api.ApiError);
      const err = e as InstanceType<typeof api.ApiError>;
      expect(err.error).toEqual(conflict);
      expect(err.kind).toBe('conflict');
      expect(err.field).toBe('name');
      expect(err.message).toBe(conflict.message);
    }
  });
});

describe('toUiError', () => {
  it('keeps a UiError', () => {
    expect(api.toUiError(conflict)).toEqual(conflict);
    expect(api.toUiError(new api.ApiError(conflict))).toEqual(conflict);
  });

  it('turns anything else into an internal error with its text', () => {
    expect(api.toUiError('command add_account not found')).toEqual({
      kind: 'internal',
      message: 'command add_account not found',
      field: null,
    });
    expect(api.toUiError(new TypeError('no ipc'))).toMatchObject({ kind: 'internal', message: 'no ipc' });
  });
});

describe('commands', () => {
  it('pass arguments through and return the value', async () => {
    const account = { id: 1, name: 'a', provider: 'local', endpoint: null, settings: {}, secret_keys: [], created_at: 0 };
    invoke.mockResolvedValueOnce(account);
    const input = { name: 'a', provider: 'local' as const, endpoint: null, settings: { root: '/tmp' } };
    await expect(api.updateAccount('old', input)).resolves.toEqual(account);
    expect(invoke).toHaveBeenCalledWith('update_account', { name: 'old', input });
  });

  it('reject with the UiError the command rejected with', async () => {
    invoke.mockRejectedValueOnce(conflict);
    await expect(api.addAccount({ name: 'a', provider: 'local', endpoint: null })).rejects.toMatchObject({
      name: 'ApiError',
      error: conflict,
    });
  });

  it('reject with an internal ApiError when the IPC itself fails', async () => {
    invoke.mockRejectedValueOnce(new TypeError('window.__TAURI_INTERNALS__ is undefined'));
    await expect(api.listAccounts()).rejects.toMatchObject({ name: 'ApiError', kind: 'internal' });
    invoke.mockRejectedValueOnce('boom');
    await expect(api.providerSpecs()).rejects.toMatchObject({ error: { kind: 'internal', message: 'boom' } });
  });

  it('resolve removeAccount to nothing and testAccount to the message', async () => {
    invoke.mockResolvedValueOnce(null).mockResolvedValueOnce('listed 3 folders');
    await expect(api.removeAccount('a')).resolves.toBeUndefined();
    await expect(api.testAccount('a')).resolves.toBe('listed 3 folders');
    expect(invoke).toHaveBeenNthCalledWith(1, 'remove_account', { name: 'a' });
    expect(invoke).toHaveBeenNthCalledWith(2, 'test_account', { name: 'a' });
  });
});
