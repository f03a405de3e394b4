import { get } from 'svelte/store';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { jobView, pagesOf } from '../test/fixtures';
import * as api from './api';
import type { JobProgress, JobView } from './api';
import * as desktop from './desktop';
import { setLang } from './i18n';
import { control, expanded, fetchJobs, grids, jobs, LINGER_MS, onProgress, PAGE_SIZE, refresh, resetJobs, setExpanded, startJobs } from './jobs';

vi.mock('./api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./api')>()),
  listJobsPage: vi.fn(),
  jobViews: vi.fn(),
  jobParts: vi.fn(),
  engineStatus: vi.fn(),
  onQueueProgress: vi.fn(),
  onQueueChanged: vi.fn(),
  onEngineStatus: vi.fn(),
  controlJobs: vi.fn(),
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
  it('lists once, page by page, then follows events without polling', async () => {
    const many = Array.from({ length: PAGE_SIZE + 5 }, (_, i) => jobView(i + 1, { state: i === 0 ? 'uploading' : 'queued' }));
    many.push(jobView(PAGE_SIZE + 6, { state: 'done', finished_at: 5 }));
    m.listJobsPage.mockImplementation(pagesOf(many));
    await startJobs();
    expect(m.listJobsPage.mock.calls).toEqual([
      [0, PAGE_SIZE],
      [PAGE_SIZE, PAGE_SIZE],
    ]);
    expect(get(jobs)).toMatchObject({ loaded: true, history: [PAGE_SIZE + 6] });
    expect(get(jobs).queue.length).toBe(PAGE_SIZE + 5);
    emitProgress([{ job: 1, state: 'uploading', size: 40 * MiB, bytes: 9 * MiB, bytes_acked: 5 * MiB, rate: MiB, parts: [] }]);
    expect(get(jobs).model.byId.get(1)).toMatchObject({ bytes: 9 * MiB, bytes_acked: 5 * MiB });
    expect(get(jobs).rate).toBe(MiB);
    await flush();
    expect(m.listJobsPage).toHaveBeenCalledTimes(2); // progress alone fetches nothing
    expect(m.jobViews).not.toHaveBeenCalled();
  });

  it('shows the first page of a long first load before the rest arrives', async () => {
    const many = Array.from({ length: PAGE_SIZE + 1 }, (_, i) => jobView(i + 1));
    const rest = deferred<JobView[]>();
    m.listJobsPage.mockImplementationOnce(pagesOf(many)).mockReturnValueOnce(rest.promise);
    void startJobs();
    await flush();
    expect(get(jobs)).toMatchObject({ loaded: true });
    expect(get(jobs).queue.length).toBe(PAGE_SIZE);
    rest.resolve([many[PAGE_SIZE]]);
    await flush();
    expect(get(jobs).queue.length).toBe(PAGE_SIZE + 1);
  });

  it('fetches the list again on queueChanged, never twice at once, and once more for calls made meanwhile', async () => {
    m.listJobsPage.mockResolvedValue([]);
    await startJobs();
    const slow = deferred<JobView[]>();
    m.listJobsPage.mockReturnValueOnce(slow.promise).mockImplementation(pagesOf([jobView(1)]));
    emitChanged();
    emitChanged();
    void refresh();
    expect(m.listJobsPage).toHaveBeenCalledTimes(2);
    slow.resolve([]);
    await refresh();
    await flush();
    expect(m.listJobsPage).toHaveBeenCalledTimes(3);
    expect(get(jobs).queue).toEqual([1]);
  });

  it('fetches a finished job alone for its result, and leaves it in the queue a moment', async () => {
    m.listJobsPage.mockImplementation(pagesOf([jobView(1, { state: 'uploading' }), jobView(2)]));
    await startJobs();
    m.jobViews.mockResolvedValue([
      jobView(1, { state: 'done', finished_at: 9, result: { id: null, name: null, url: 'https://x.test/1' } }),
    ]);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      emitProgress([{ job: 1, state: 'done', size: 40 * MiB, bytes: 40 * MiB, bytes_acked: 40 * MiB, rate: 0, parts: [] }]);
      expect(get(jobs)).toMatchObject({ queue: [1, 2], history: [1] });
      await fetchJobs([]);
      expect(m.jobViews).toHaveBeenCalledWith([1]);
      expect(get(jobs).model.byId.get(1)?.result?.url).toBe('https://x.test/1');
      expect(m.listJobsPage).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(LINGER_MS);
      expect(get(jobs)).toMatchObject({ queue: [2], history: [1] });
    } finally {
      vi.useRealTimers();
    }
  });

  it('fetches a job it hears of before the list has it, and shows a control’s effect at once', async () => {
    m.listJobsPage.mockImplementation(pagesOf([jobView(1, { state: 'uploading' })]));
    await startJobs();
    m.jobViews.mockResolvedValueOnce([jobView(2, { state: 'uploading' })]);
    emitProgress([{ job: 2, state: 'uploading', size: 10, bytes: 1, bytes_acked: 0, rate: 0, parts: [] }]);
    await fetchJobs([]);
    expect(get(jobs).queue).toEqual([1, 2]);
    m.controlJobs.mockResolvedValue({ applied: [1], refused: [] });
    m.jobViews.mockResolvedValueOnce([jobView(1, { state: 'paused' })]);
    await control('pause', [1]);
    await fetchJobs([]);
    expect(m.jobViews).toHaveBeenLastCalledWith([1]);
    expect(get(jobs).model.byId.get(1)?.state).toBe('paused');
    expect(get(jobs).counts.paused).toBe(1);
  });

  it('keeps what a single fetch brought while a whole list was on its way', async () => {
    m.listJobsPage.mockImplementation(pagesOf([jobView(1, { state: 'uploading' })]));
    await startJobs();
    const slow = deferred<JobView[]>();
    m.listJobsPage.mockReturnValueOnce(slow.promise);
    const whole = refresh();
    m.controlJobs.mockResolvedValue({ applied: [1], refused: [] });
    m.jobViews.mockResolvedValueOnce([jobView(1, { state: 'paused' })]);
    await control('pause', [1]);
    await fetchJobs([]);
    expect(get(jobs).model.byId.get(1)?.state).toBe('paused');
    slow.resolve([jobView(1, { state: 'uploading' })]); // read before the pause
    await whole;
    expect(get(jobs).model.byId.get(1)?.state).toBe('paused');
  });

  it('notifies when a job fails and when the batch is over', async () => {
    m.listJobsPage.mockImplementation(pagesOf([jobView(1, { state: 'uploading' }), jobView(2, { state: 'uploading', size: MiB })]));
    m.jobViews.mockResolvedValue([]);
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
    m.listJobsPage.mockImplementation(pagesOf([jobView(1, { state: 'uploading' })]));
    m.jobViews.mockResolvedValue([]);
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
    m.listJobsPage.mockImplementation(pagesOf([jobView(1)]));
    m.jobViews.mockResolvedValue([]);
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
