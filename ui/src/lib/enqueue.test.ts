import { get } from 'svelte/store';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DINGTALK_ACCOUNT, XFYUN_ACCOUNT } from '../test/fixtures';
import { accounts } from './accounts';
import * as api from './api';
import { effectiveAccount, lastEnqueue, queueFiles, setTarget, target, TARGET_STORAGE_KEY } from './enqueue';
import { resetJobs } from './jobs';
import { page } from './router';

vi.mock('./api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./api')>()),
  enqueue: vi.fn(),
  listJobsPage: vi.fn(async () => []),
  queueRevision: vi.fn(async () => 0),
  queueChanges: vi.fn(async () => ({ rev: 0, jobs: [], removed: [], more: false, reset: false })),
}));

const m = vi.mocked(api);
const report = { queued: [{ id: 1, file: '/a/x.bin', name: 'x.bin', dest: 'in', size: 10, account: 'team' }], rejected: [], notes: [] };

beforeEach(() => {
  vi.clearAllMocks();
  resetJobs();
  localStorage.clear();
  setTarget({ account: '', dest: '' });
  accounts.set([XFYUN_ACCOUNT, DINGTALK_ACCOUNT]);
  page.set('accounts');
  lastEnqueue.set(null);
});

describe('queueFiles', () => {
  it('queues for the chosen account and folder, shows the Queue and remembers the choice', async () => {
    setTarget({ account: 'team', dest: ' in ' });
    m.enqueue.mockResolvedValue(report);
    const outcome = await queueFiles(['/a/x.bin', '']);
    expect(m.enqueue).toHaveBeenCalledWith(['/a/x.bin'], 'team', 'in');
    expect(outcome).toEqual({ kind: 'queued', report, account: 'team', dest: 'in' });
    expect(get(lastEnqueue)).toEqual(outcome);
    expect(get(page)).toBe('queue');
    expect(JSON.parse(localStorage.getItem(TARGET_STORAGE_KEY) ?? '')).toEqual({ account: 'team', dest: ' in ' });
  });

  it('falls back to the first account when the remembered one is gone', async () => {
    expect(effectiveAccount('gone', [XFYUN_ACCOUNT, DINGTALK_ACCOUNT])).toBe('voice');
    expect(effectiveAccount('team', [XFYUN_ACCOUNT, DINGTALK_ACCOUNT])).toBe('team');
    expect(effectiveAccount('team', [])).toBe('');
    setTarget({ account: 'gone', dest: '' });
    m.enqueue.mockResolvedValue(report);
    await queueFiles(['/a']);
    expect(m.enqueue).toHaveBeenCalledWith(['/a'], 'voice', '');
    expect(get(target).account).toBe('gone'); // the choice is the user's to change
  });

  it('says an account is needed when there is none, and reports refusals', async () => {
    accounts.set([]);
    expect(await queueFiles(['/a'])).toEqual({ kind: 'no-account' });
    expect(m.enqueue).not.toHaveBeenCalled();
    accounts.set([XFYUN_ACCOUNT]);
    m.enqueue.mockRejectedValue(new api.ApiError({ kind: 'not_found', message: 'no account named "voice"', field: null }));
    expect(await queueFiles(['/a'])).toEqual({
      kind: 'error',
      error: { kind: 'not_found', message: 'no account named "voice"', field: null },
    });
  });
});
