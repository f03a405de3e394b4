import { get } from 'svelte/store';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { jobView } from '../test/fixtures';
import * as api from './api';
import type { JobProgress, JobView } from './api';
import * as desktop from './desktop';
import { setLang } from './i18n';
import { expanded, grids, jobs, LINGER_MS, onProgress, refresh, resetJobs, setExpanded, startJobs } from './jobs';

vi.mock('./api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./api')>()),
  listJobs: vi.fn(),
  jobParts: vi.fn(),
  engineStatus: vi.fn(),
  onQueueProgress: vi.fn(),
  onQueueChanged: vi.fn(),
  onEngineStatus: vi.fn(),
}));
vi.mock('./desktop', () => ({ notify: vi.fn(async () => {}) }));

const m = vi.mocked(api);
const MiB = 1024 * 1024;
let emitProgress: (u: JobProgress[]) => void = () => {};
let emitChanged: () => void = () => {};

const deferred = <T>() => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  vi.resetAllMocks();
  resetJobs();
  setLang('en');
  m.engineStatus.mockResolvedValue({ running: true, message: null });
  m.onQueueProgress.mockImplementation(async (h) => ((emitProgress = h), () => {}));
  m.onQueueChanged.mockImplementation(async (h) => ((emitChanged = h), () => {}));
  m.onEngineStatus.mockResolvedValue(() => {});
});

describe('jobs store', () => {
  it('lists once, then follows events without polling', async () => {
    m.listJobs.mockResolvedValue([jobView(1, { state: 'uploading' }), jobView(2), jobView(3, { state: 'done', finished_at: 5 })]);
    await startJobs();
    expect(m.listJobs).toHaveBeenCalledTimes(1);
    expect(get(jobs)).toMatchObject({ loaded: true, queue: [1, 2], history: [3] });
    emitProgress([{ job: 1, state: 'uploading', size: 40 * MiB, bytes: 9 * MiB, bytes_acked: 5 * MiB, rate: MiB, parts: [] }]);
    expect(get(jobs).model.byId.get(1)).toMatchObject({ bytes: 9 * MiB, bytes_acked: 5 * MiB });
    expect(get(jobs).rate).toBe(MiB);
    await flush();
    expect(m.listJobs).toHaveBeenCalledTimes(1); // progress alone needs no list
  });

  it('fetches again on queueChanged, never twice at once, and once more for calls made meanwhile', async () => {
    m.listJobs.mockResolvedValue([]);
    await startJobs();
    const slow = deferred<JobView[]>();
    m.listJobs.mockReturnValueOnce(slow.promise).mockResolvedValue([jobView(1)]);
    emitChanged();
    emitChanged();
    void refresh();
    expect(m.listJobs).toHaveBeenCalledTimes(2);
    slow.resolve([]);
    await refresh();
    await flush();
    expect(m.listJobs).toHaveBeenCalledTimes(3);
    expect(get(jobs).queue).toEqual([1]);
  });

  it('moves a finished job to history, fetches its result, and leaves it in the queue a moment', async () => {
    m.listJobs.mockResolvedValueOnce([jobView(1, { state: 'uploading' })]);
    await startJobs();
    m.listJobs.mockResolvedValue([
      jobView(1, { state: 'done', finished_at: 9, result: { id: null, name: null, url: 'https://x.test/1' } }),
    ]);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      emitProgress([{ job: 1, state: 'done', size: 40 * MiB, bytes: 40 * MiB, bytes_acked: 40 * MiB, rate: 0, parts: [] }]);
      expect(get(jobs)).toMatchObject({ queue: [1], history: [1] });
      await refresh();
      expect(get(jobs).model.byId.get(1)?.result?.url).toBe('https://x.test/1');
      expect(get(jobs).queue).toEqual([1]);
      vi.advanceTimersByTime(LINGER_MS);
      expect(get(jobs)).toMatchObject({ queue: [], history: [1] });
    } finally {
      vi.useRealTimers();
    }
  });

  it('notifies when a job fails and when the batch is over', async () => {
    m.listJobs.mockResolvedValue([jobView(1, { state: 'uploading' }), jobView(2, { state: 'uploading', size: MiB })]);
    await startJobs();
    const p = (job: number, state: JobProgress['state']): JobProgress => ({
      job, state, size: job === 1 ? 40 * MiB : MiB, bytes: 0, bytes_acked: 0, rate: 0, parts: [],
    });
    onProgress([p(1, 'failed')]);
    expect(desktop.notify).toHaveBeenLastCalledWith({
      title: 'Upload failed',
      body: 'file-1.bin could not be uploaded. Open Ferry to see why.',
    });
    onProgress([p(2, 'done')]);
    expect(desktop.notify).toHaveBeenLastCalledWith({ title: 'Uploads finished', body: '1 file uploaded (1.0 MiB); 1 failed.' });
    expect(desktop.notify).toHaveBeenCalledTimes(2);
  });

  it('keeps an expanded job’s part grid live, applying updates that came while it loaded', async () => {
    m.listJobs.mockResolvedValue([jobView(1, { state: 'uploading' })]);
    await startJobs();
    const parts = deferred<api.PartView[]>();
    m.jobParts.mockReturnValueOnce(parts.promise);
    setExpanded(1, true);
    expect(get(expanded).has(1)).toBe(true);
    expect(get(grids).get(1)).toBeNull(); // loading
    const upd = (n: number, state: api.PartLive, sent: number): JobProgress => ({
      job: 1, state: 'uploading', size: 10, bytes: 0, bytes_acked: 0, rate: 0, parts: [{ number: n, state, sent, length: 5 }],
    });
    onProgress([upd(1, 'acked', 5)]); // arrives before the ledger read answers
    parts.resolve([
      { number: 1, offset: 0, length: 5, state: 'in_flight', attempts: 1 },
      { number: 2, offset: 5, length: 5, state: 'pending', attempts: 0 },
    ]);
    await flush();
    expect(get(grids).get(1)?.map((c) => c.state)).toEqual(['acked', 'pending']);
    onProgress([upd(2, 'in_flight', 2)]);
    expect(get(grids).get(1)?.[1]).toEqual({ number: 2, state: 'in_flight', sent: 2, length: 5 });
    // Done: every part is acknowledged, even if its last ack and the end came in one update.
    m.jobParts.mockReturnValue(new Promise(() => {}));
    onProgress([{ ...upd(2, 'in_flight', 4), state: 'done' }]);
    expect(get(grids).get(1)?.map((c) => c.state)).toEqual(['acked', 'acked']);
    setExpanded(1, false);
    expect(get(grids).has(1)).toBe(false);
  });

  it('reloads the grid of an expanded job when its parts are planned', async () => {
    m.listJobs.mockResolvedValue([jobView(1)]);
    await startJobs();
    m.jobParts.mockResolvedValueOnce([]);
    setExpanded(1, true);
    await flush();
    expect(get(grids).get(1)).toEqual([]);
    m.jobParts.mockResolvedValueOnce([{ number: 1, offset: 0, length: 5, state: 'pending', attempts: 0 }]);
    onProgress([{ job: 1, state: 'uploading', size: 5, bytes: 1, bytes_acked: 0, rate: 0, parts: [{ number: 1, state: 'in_flight', sent: 1, length: 5 }] }]);
    await flush();
    expect(m.jobParts).toHaveBeenCalledTimes(2);
    expect(get(grids).get(1)?.length).toBe(1);
  });
});
