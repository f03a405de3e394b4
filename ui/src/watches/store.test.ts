import { get } from 'svelte/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../lib/api';
import { watchView } from './fixtures';
import { keepFresh, refreshWatches, replaceWatch, watches } from './store';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  listWatches: vi.fn(),
}));

const m = vi.mocked(api);
let visibility: DocumentVisibilityState = 'visible';

beforeEach(() => {
  vi.resetAllMocks();
  vi.useFakeTimers();
  visibility = 'visible';
  vi.spyOn(document, 'visibilityState', 'get').mockImplementation(() => visibility);
  watches.set(null);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('watches store', () => {
  it('holds what listWatches returned, and takes one changed watch in place', async () => {
    m.listWatches.mockResolvedValue([watchView(1), watchView(2)]);
    await refreshWatches();
    expect(get(watches)?.map((w) => w.id)).toEqual([1, 2]);
    replaceWatch(watchView(2, { enabled: false, status: 'paused' }));
    expect(get(watches)?.map((w) => w.status)).toEqual(['watching', 'paused']);
  });
});

describe('keepFresh', () => {
  it('refreshes every interval while visible, never while hidden, and at once on showing again', async () => {
    const refresh = vi.fn().mockResolvedValue(undefined);
    const stop = keepFresh(refresh, 2000);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2000);
    expect(refresh).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(4000);
    expect(refresh).toHaveBeenCalledTimes(3);

    visibility = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    await vi.advanceTimersByTimeAsync(10000);
    expect(refresh).toHaveBeenCalledTimes(3);

    visibility = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(refresh).toHaveBeenCalledTimes(4);

    stop();
    await vi.advanceTimersByTimeAsync(10000);
    document.dispatchEvent(new Event('visibilitychange'));
    expect(refresh).toHaveBeenCalledTimes(4);
  });

  it('never runs two refreshes at once, and goes on after a failed one', async () => {
    let finish: () => void = () => {};
    const refresh = vi
      .fn()
      .mockImplementationOnce(() => new Promise<void>((r) => (finish = r)))
      .mockRejectedValueOnce(new Error('database is locked'))
      .mockResolvedValue(undefined);
    const stop = keepFresh(refresh, 1000);
    await vi.advanceTimersByTimeAsync(3000);
    expect(refresh).toHaveBeenCalledTimes(1); // the first is still running
    finish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(refresh).toHaveBeenCalledTimes(2); // this one fails
    await vi.advanceTimersByTimeAsync(1000);
    expect(refresh).toHaveBeenCalledTimes(3);
    stop();
  });
});
