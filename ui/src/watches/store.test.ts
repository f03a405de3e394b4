import { get } from 'svelte/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../lib/api';
import { watchView } from './fixtures';
import { followWatches, refreshWatches, replaceWatch, watches } from './store';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  listWatches: vi.fn(),
  onWatchesChanged: vi.fn(),
}));

const m = vi.mocked(api);

beforeEach(() => {
  vi.resetAllMocks();
  vi.useFakeTimers();
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

describe('followWatches', () => {
  it('lists again on each change event, never twice at once, once more for changes heard meanwhile, and not after stop', async () => {
    let changed: () => void = () => {};
    const unlisten = vi.fn();
    m.onWatchesChanged.mockImplementation(async (h) => ((changed = h), unlisten));
    let finish: () => void = () => {};
    const refresh = vi
      .fn()
      .mockImplementationOnce(() => new Promise<void>((r) => (finish = r)))
      .mockRejectedValueOnce(new Error('database is locked'))
      .mockResolvedValue(undefined);
    const stop = followWatches(refresh);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refresh).not.toHaveBeenCalled(); // no timer
    changed();
    changed();
    changed();
    expect(refresh).toHaveBeenCalledTimes(1); // the first is still running
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveBeenCalledTimes(2); // one more for the two heard meanwhile; it fails
    changed();
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveBeenCalledTimes(3); // a failed listing does not stop the next
    stop();
    expect(unlisten).toHaveBeenCalled();
    changed();
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveBeenCalledTimes(3);
  });
});
