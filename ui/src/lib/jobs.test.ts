import { get } from 'svelte/store';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeQueue, jobView } from '../test/fixtures';
import * as api from './api';
import type { JobProgress, JobView } from './api';
import * as desktop from './desktop';
import { setLang } from './i18n';
import { control, expanded, FIRST_PAGE, grids, jobs, LINGER_MS, onProgress, PAGE_SIZE, resetJobs, setExpanded, startJobs, sync } from './jobs';

vi.mock('./api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./api')>()),
  listJobsPage: vi.fn(),
  queueRevision: vi.fn(),
  queueChanges: vi.fn(),
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
    const N = FIRST_PAGE + PAGE_SIZE + 5;
    const many = Array.from({ length: N }, (_, i) => jobView(i + 1, { state: i === 0 ? 'uploading' : 'queued' }));
    many.push(jobView(N + 1, { state: 'done', finished_at: 5 }));
    const db = new FakeQueue(many).stub(m);
    await startJobs();
    expect(m.listJobsPage.mock.calls).toEqual([
      [0, FIRST_PAGE],
      [FIRST_PAGE, PAGE_SIZE],
      [FIRST_PAGE + PAGE_SIZE, PAGE_SIZE],
    ]);
    // What changed while the pages came is asked for once, from the revision noted first.
    expect(m.queueChanges.mock.calls).toEqual([[await db.revision(), PAGE_SIZE]]);
    expect(get(jobs)).toMatchObject({ loaded: true, history: [N + 1] });
    expect(get(jobs).queue.length).toBe(N);
    emitProgress([{ job: 1, state: 'uploading', size: 40 * MiB, bytes: 9 * MiB, bytes_acked: 5 * MiB, rate: MiB, parts: [] }]);
    expect(get(jobs).model.byId.get(1)).toMatchObject({ bytes: 9 * MiB, bytes_acked: 5 * MiB });
    expect(get(jobs).rate).toBe(MiB);
    await flush();
    expect(m.listJobsPage).toHaveBeenCalledTimes(3); // progress alone fetches nothing
    expect(m.queueChanges).toHaveBeenCalledTimes(1);
  });

  it('shows the first page of a long first load before the rest arrives', async () => {
    const many = Array.from({ length: FIRST_PAGE + 1 }, (_, i) => jobView(i + 1));
    const db = new FakeQueue(many).stub(m);
    const rest = deferred<JobView[]>();
    m.listJobsPage.mockImplementationOnce(db.page).mockReturnValueOnce(rest.promise);
    void startJobs();
    await flush();
    expect(get(jobs)).toMatchObject({ loaded: true });
    expect(get(jobs).queue.length).toBe(FIRST_PAGE);
    rest.resolve([many[FIRST_PAGE]]);
    await flush();
    expect(get(jobs).queue.length).toBe(FIRST_PAGE + 1);
  });

  it('counts a job an event finished while the first load was still coming in', async () => {
    const many = Array.from({ length: FIRST_PAGE + 3 }, (_, i) => jobView(i + 1, { state: 'uploading' }));
    const db = new FakeQueue(many).stub(m);
    const rest = deferred<JobView[]>();
    m.listJobsPage.mockImplementationOnce(db.page).mockReturnValueOnce(rest.promise);
    void startJobs();
    await flush();
    expect(get(jobs).queue.length).toBe(FIRST_PAGE);
    emitProgress([{ job: 1, state: 'done', size: 40 * MiB, bytes: 40 * MiB, bytes_acked: 40 * MiB, rate: 0, parts: [] }]);
    rest.resolve(await db.page(FIRST_PAGE, PAGE_SIZE));
    await flush();
    await flush();
    expect(get(jobs).history).toEqual([1]);
    expect(get(jobs).counts).toMatchObject({ uploading: FIRST_PAGE + 2, done: 1 });
  });

  it('on queueChanged asks only for what changed since, never twice at once, and once more for calls made meanwhile', async () => {
    const db = new FakeQueue([jobView(1), jobView(2)]).stub(m);
    await startJobs();
    const first = await db.revision();
    db.put(jobView(3));
    const slow = deferred<api.QueueChanges>();
    m.queueChanges.mockReturnValueOnce(slow.promise);
    emitChanged();
    emitChanged();
    void sync();
    expect(m.queueChanges).toHaveBeenCalledTimes(2); // the start's catch-up and this one
    db.put(jobView(2, { state: 'paused' }));
    slow.resolve(await db.changes(first, PAGE_SIZE));
    await sync();
    await flush();
    expect(m.queueChanges.mock.calls.slice(1)).toEqual([
      [first, PAGE_SIZE],
      [first + 2, PAGE_SIZE],
    ]);
    expect(m.listJobsPage).toHaveBeenCalledTimes(1); // never the whole list again
    expect(get(jobs).queue).toEqual([1, 2, 3]);
    expect(get(jobs).model.byId.get(2)?.state).toBe('paused');
    expect(get(jobs).counts).toMatchObject({ queued: 2, paused: 1 });
  });

  it('follows a long run of changes page by page, removals too', async () => {
    const db = new FakeQueue([jobView(1, { state: 'done', finished_at: 1 }), jobView(2, { state: 'cancelled', finished_at: 2 })]).stub(m);
    await startJobs();
    expect(get(jobs).history).toEqual([2, 1]);
    const more = Array.from({ length: PAGE_SIZE + 3 }, (_, i) => jobView(i + 3));
    for (const v of more) db.put(v);
    db.remove(1).remove(2);
    await sync();
    expect(m.queueChanges).toHaveBeenCalledTimes(3); // the start's, then two pages
    expect(get(jobs).history).toEqual([]);
    expect(get(jobs).queue.length).toBe(PAGE_SIZE + 3);
    expect(get(jobs).model.byId.has(1)).toBe(false);
    expect(get(jobs).model.order[0]).toBe(3);
  });

  it('lists everything again when it is too far behind to be told what was removed', async () => {
    const db = new FakeQueue([jobView(1, { state: 'done', finished_at: 1 }), jobView(2)]).stub(m);
    await startJobs();
    db.remove(1).prune();
    await sync();
    expect(m.listJobsPage).toHaveBeenCalledTimes(2);
    expect(get(jobs).model.order).toEqual([2]);
    expect(get(jobs).history).toEqual([]);
  });

  it('syncs a finished job for its result, and leaves it in the queue a moment', async () => {
    const db = new FakeQueue([jobView(1, { state: 'uploading' }), jobView(2)]).stub(m);
    await startJobs();
    db.put(jobView(1, { state: 'done', finished_at: 9, result: { id: null, name: null, url: 'https://x.test/1' } }));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      emitProgress([{ job: 1, state: 'done', size: 40 * MiB, bytes: 40 * MiB, bytes_acked: 40 * MiB, rate: 0, parts: [] }]);
      expect(get(jobs)).toMatchObject({ queue: [1, 2], history: [1] });
      await sync();
      expect(get(jobs).model.byId.get(1)?.result?.url).toBe('https://x.test/1');
      expect(m.listJobsPage).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(LINGER_MS);
      expect(get(jobs)).toMatchObject({ queue: [2], history: [1] });
    } finally {
      vi.useRealTimers();
    }
  });

  it('learns of a job it hears of before the list has it, and shows a control’s effect at once', async () => {
    const db = new FakeQueue([jobView(1, { state: 'uploading' })]).stub(m);
    await startJobs();
    db.put(jobView(2, { state: 'uploading' }));
    emitProgress([{ job: 2, state: 'uploading', size: 10, bytes: 1, bytes_acked: 0, rate: 0, parts: [] }]);
    await sync();
    expect(get(jobs).queue).toEqual([1, 2]);
    m.controlJobs.mockImplementation(async () => {
      db.put(jobView(1, { state: 'paused' }));
      return { applied: [1], refused: [] };
    });
    await control('pause', [1]);
    await sync();
    expect(get(jobs).model.byId.get(1)?.state).toBe('paused');
    expect(get(jobs).counts.paused).toBe(1);
    expect(m.listJobsPage).toHaveBeenCalledTimes(1);
  });

  it('keeps what progress said while a reply read before it was on its way', async () => {
    const db = new FakeQueue([jobView(1), jobView(2)]).stub(m);
    await startJobs();
    const since = await db.revision();
    db.put(jobView(2, { state: 'paused' }));
    const stale = await db.changes(since, PAGE_SIZE); // read before job 1 started
    db.put(jobView(1, { state: 'uploading' }));
    const slow = deferred<api.QueueChanges>();
    m.queueChanges.mockReturnValueOnce(slow.promise);
    const syncing = sync();
    emitProgress([{ job: 1, state: 'uploading', size: 40 * MiB, bytes: 3 * MiB, bytes_acked: 0, rate: MiB, parts: [] }]);
    slow.resolve({ ...stale, jobs: [jobView(1), ...stale.jobs] });
    await syncing;
    expect(get(jobs).model.byId.get(1)).toMatchObject({ state: 'uploading', bytes: 3 * MiB });
    expect(get(jobs).model.byId.get(2)?.state).toBe('paused');
  });

  it('notifies when a job fails and when the batch is over', async () => {
    new FakeQueue([jobView(1, { state: 'uploading' }), jobView(2, { state: 'uploading', size: MiB })]).stub(m);
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
    new FakeQueue([jobView(1, { state: 'uploading' })]).stub(m);
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
    new FakeQueue([jobView(1)]).stub(m);
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
