import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { accounts } from '../lib/accounts';
import * as api from '../lib/api';
import type { JobProgress } from '../lib/api';
import * as desktop from '../lib/desktop';
import { lastEnqueue, setTarget } from '../lib/enqueue';
import { setLang } from '../lib/i18n';
import { resetJobs, startJobs } from '../lib/jobs';
import { DINGTALK_ACCOUNT, FakeQueue, jobView, XFYUN_ACCOUNT } from '../test/fixtures';
import QueuePage from './QueuePage.svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  listJobsPage: vi.fn(),
  queueRevision: vi.fn(),
  queueChanges: vi.fn(),
  jobParts: vi.fn(),
  enqueue: vi.fn(),
  folderRoots: vi.fn(),
  listFolder: vi.fn(),
  controlJobs: vi.fn(),
  engineStatus: vi.fn(),
  onQueueProgress: vi.fn(),
  onQueueChanged: vi.fn(),
  onEngineStatus: vi.fn(),
}));
vi.mock('../lib/desktop', () => ({ pickPaths: vi.fn(), notify: vi.fn(), copyText: vi.fn(), onDragDrop: vi.fn() }));

const m = vi.mocked(api);
const d = vi.mocked(desktop);
const MiB = 1024 * 1024;
let emit: (u: JobProgress[]) => void = () => {};

beforeEach(() => {
  vi.resetAllMocks();
  resetJobs();
  setLang('en');
  localStorage.clear();
  setTarget({ account: '', dest: '' });
  lastEnqueue.set(null);
  accounts.set([XFYUN_ACCOUNT, DINGTALK_ACCOUNT]);
  m.engineStatus.mockResolvedValue({ running: true, message: null });
  m.onQueueProgress.mockImplementation(async (h) => ((emit = h), () => {}));
  m.onQueueChanged.mockResolvedValue(() => {});
  m.onEngineStatus.mockResolvedValue(() => {});
  m.controlJobs.mockResolvedValue({ applied: [1], refused: [] });
});

async function open(jobs: api.JobView[]) {
  new FakeQueue(jobs).stub(m);
  await startJobs();
  render(QueuePage);
}

const rowOf = (id: number) => {
  const row = screen.getAllByTestId('job-row').find((r) => r.dataset.id === String(id));
  if (!row) throw new Error(`no row ${id}`);
  return row;
};

describe('QueuePage', () => {
  it('shows each unfinished job with size, account, state, speed and time left', async () => {
    await open([jobView(1, { state: 'uploading', bytes_acked: 10 * MiB }), jobView(2), jobView(3, { state: 'done' })]);
    expect(screen.getAllByTestId('job-row').map((r) => r.dataset.id)).toEqual(['1', '2']);
    emit([{ job: 1, state: 'uploading', size: 40 * MiB, bytes: 20 * MiB, bytes_acked: 10 * MiB, rate: 2 * MiB, parts: [] }]);
    await waitFor(() => expect(within(rowOf(1)).getByTestId('job-speed')).toHaveTextContent('2.0 MiB/s'));
    const row = rowOf(1);
    expect(row).toHaveTextContent('file-1.bin');
    expect(row).toHaveTextContent('40 MiB');
    expect(row).toHaveTextContent('voice');
    expect(within(row).getByTestId('job-state')).toHaveTextContent('Uploading');
    expect(within(row).getByTestId('job-eta')).toHaveTextContent('10 s');
    expect(within(row).getByRole('progressbar')).toHaveAttribute('aria-valuenow', String(10 * MiB));
    expect(within(row).getByRole('progressbar')).toHaveAttribute('aria-valuetext', '10 MiB of 40 MiB acknowledged');
    expect(screen.getByTestId('queue-summary')).toHaveTextContent('1 uploading · 1 waiting · 2.0 MiB/s');
  });

  it('renders only the rows in view of 100,000', async () => {
    await open(Array.from({ length: 100_000 }, (_, i) => jobView(i + 1)));
    const list = screen.getByTestId('queue-list');
    expect(list).toHaveAttribute('data-count', '100000');
    const rendered = screen.getAllByTestId('job-row').length;
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(40);
    list.scrollTop = 54 * 50_000;
    await fireEvent.scroll(list);
    await waitFor(() => expect(screen.getAllByTestId('job-row').some((r) => r.dataset.id === '50001')).toBe(true));
    expect(screen.getAllByTestId('job-row').length).toBeLessThan(40);
  }, 30_000);

  it('recycles rows: a row keeps its elements while in view, a row scrolled in takes over those of one scrolled out', async () => {
    await open(Array.from({ length: 1000 }, (_, i) => jobView(i + 1)));
    const list = screen.getByTestId('queue-list');
    // Past the top, where the rendered range has its full length.
    list.scrollTop = 54 * 100;
    await fireEvent.scroll(list);
    await waitFor(() => expect(rowOf(101)).toBeTruthy());
    const before = new Map(screen.getAllByTestId('job-row').map((r) => [r.dataset.id, r]));
    const focused = within(rowOf(101)).getByTestId('job-pause');
    focused.focus();
    list.scrollTop = 54 * 101;
    await fireEvent.scroll(list);
    await waitFor(() => expect(screen.queryAllByTestId('job-row').some((r) => r.dataset.id === String(Math.max(...[...before.keys()].map(Number)) + 1))).toBe(true));
    const after = screen.getAllByTestId('job-row');
    expect(after.length).toBe(before.size);
    // Every row still in view is the same element; the new one reuses the one that left.
    for (const r of after) {
      if (before.has(r.dataset.id)) expect(before.get(r.dataset.id)).toBe(r);
    }
    const gone = [...before.keys()].filter((id) => !after.some((r) => r.dataset.id === id));
    const fresh = after.filter((r) => !before.has(r.dataset.id));
    expect(gone.length).toBe(1);
    expect(fresh.length).toBe(1);
    expect(fresh[0]).toBe(before.get(gone[0]));
    // The focused row stayed in view, so its button kept the focus.
    expect(document.activeElement).toBe(focused);
    // Scrolled far: the slot now draws another job, so the focus goes to the list itself.
    list.scrollTop = 54 * 600;
    await fireEvent.scroll(list);
    await waitFor(() => expect(rowOf(601)).toBeTruthy());
    expect(document.activeElement).toBe(list);
    expect(within(rowOf(601)).getByTestId('job-expand')).toHaveAttribute('aria-label', 'Details and parts of file-601.bin');
  });

  it('expands a job into its part grid, which follows the events', async () => {
    await open([jobView(1, { state: 'uploading' })]);
    m.jobParts.mockResolvedValue([
      { number: 1, offset: 0, length: 5 * MiB, state: 'acked', attempts: 1 },
      { number: 2, offset: 5 * MiB, length: 5 * MiB, state: 'pending', attempts: 0 },
      { number: 3, offset: 10 * MiB, length: 5 * MiB, state: 'pending', attempts: 0 },
    ]);
    const expand = within(rowOf(1)).getByTestId('job-expand');
    expect(expand).toHaveAttribute('aria-expanded', 'false');
    await fireEvent.click(expand);
    expect(expand).toHaveAttribute('aria-expanded', 'true');
    const grid = await screen.findByTestId('part-grid');
    const states = () => within(grid).getAllByTestId('part-cell').map((c) => c.dataset.state);
    await waitFor(() => expect(states()).toEqual(['acked', 'pending', 'pending']));
    emit([{
      job: 1, state: 'uploading', size: 15 * MiB, bytes: 7 * MiB, bytes_acked: 5 * MiB, rate: MiB,
      parts: [{ number: 2, state: 'in_flight', sent: 2 * MiB, length: 5 * MiB }, { number: 3, state: 'retrying', sent: 0, length: 0 }],
    }]);
    await waitFor(() => expect(states()).toEqual(['acked', 'in_flight', 'retrying']));
    expect(grid).toHaveAttribute('data-acked', '1');
    expect(within(grid).getByRole('img')).toHaveAccessibleName(
      '3 parts: 1 acknowledged, 1 in flight, 1 retrying, 0 pending',
    );
    expect(within(grid).getAllByTestId('part-cell')[1].style.background).toContain('40%');
  });

  it('pauses, resumes, cancels one job, and pauses or resumes all', async () => {
    await open([jobView(1, { state: 'uploading' }), jobView(2, { state: 'paused' })]);
    await fireEvent.click(within(rowOf(1)).getByRole('button', { name: 'Pause file-1.bin' }));
    expect(m.controlJobs).toHaveBeenLastCalledWith('pause', [1]);
    await fireEvent.click(within(rowOf(2)).getByRole('button', { name: 'Resume file-2.bin' }));
    expect(m.controlJobs).toHaveBeenLastCalledWith('resume', [2]);
    await fireEvent.click(within(rowOf(2)).getByRole('button', { name: 'Cancel the upload of file-2.bin' }));
    expect(m.controlJobs).toHaveBeenLastCalledWith('cancel', [2]);
    await waitFor(() => expect(screen.getByTestId('pause-all')).toBeEnabled());
    await fireEvent.click(screen.getByTestId('pause-all'));
    expect(m.controlJobs).toHaveBeenLastCalledWith('pause', null);
    await waitFor(() => expect(screen.getByTestId('resume-all')).toBeEnabled());
    await fireEvent.click(screen.getByTestId('resume-all'));
    expect(m.controlJobs).toHaveBeenLastCalledWith('resume', null);
  });

  it('shows a refused control as an error', async () => {
    await open([jobView(1, { state: 'uploading' })]);
    m.controlJobs.mockResolvedValue({
      applied: [],
      refused: [{ kind: 'conflict', message: 'job 1 is committing: it cannot be paused', field: null }],
    });
    await fireEvent.click(within(rowOf(1)).getByTestId('job-pause'));
    expect(await screen.findByTestId('banner')).toHaveTextContent('job 1 is committing');
  });

  it('shows a failed job’s error, what to do, and retries it', async () => {
    await open([
      jobView(1, { state: 'failed', error_kind: 'auth', error: 'iFlytek refused the signature (code 10313)' }),
    ]);
    m.jobParts.mockResolvedValue([]);
    const row = rowOf(1);
    expect(within(row).getByTestId('job-error')).toHaveTextContent('iFlytek refused the signature (code 10313)');
    await fireEvent.click(within(row).getByTestId('job-expand'));
    const problem = await screen.findByTestId('job-problem');
    expect(problem).toHaveTextContent('Upload failed · Authentication failed');
    expect(within(problem).getByTestId('job-advice')).toHaveTextContent(/Check the account’s credentials/);
    await fireEvent.click(within(problem).getByRole('button', { name: 'Retry' }));
    expect(m.controlJobs).toHaveBeenLastCalledWith('resume', [1]);
    await fireEvent.click(within(row).getByRole('button', { name: 'Retry file-1.bin' }));
    expect(m.controlJobs).toHaveBeenCalledTimes(2);
  });

  it('picks files for the chosen account and folder and remembers the choice', async () => {
    await open([]);
    expect(screen.getByTestId('queue-empty')).toBeInTheDocument();
    await fireEvent.change(screen.getByTestId('target-account'), { target: { value: 'team' } });
    await fireEvent.input(screen.getByTestId('target-dest'), { target: { value: 'reports' } });
    d.pickPaths.mockResolvedValue(['/home/me/a.pdf', '/home/me/b.pdf']);
    m.enqueue.mockResolvedValue({
      queued: [
        { id: 1, file: '/home/me/a.pdf', name: 'a.pdf', dest: 'reports', size: MiB, account: 'team' },
        { id: 2, file: '/home/me/b.pdf', name: 'b.pdf', dest: 'reports', size: MiB, account: 'team' },
      ],
      rejected: [{ file: '/home/me/gone', error: '/home/me/gone: no such file' }],
      notes: [],
    });
    await fireEvent.click(screen.getByTestId('add-files'));
    expect(d.pickPaths).toHaveBeenCalledWith(false, 'Choose files to upload');
    await waitFor(() => expect(m.enqueue).toHaveBeenCalledWith(['/home/me/a.pdf', '/home/me/b.pdf'], 'team', 'reports'));
    const notice = await screen.findByTestId('enqueue-notice');
    expect(notice).toHaveTextContent('Queued 2 files (2.0 MiB) for team, folder “reports”.');
    expect(notice).toHaveTextContent('1 path was not queued:');
    expect(notice).toHaveTextContent('/home/me/gone: no such file');
    expect(JSON.parse(localStorage.getItem('ferry.target') ?? '')).toEqual({ account: 'team', dest: 'reports' });
    await fireEvent.click(screen.getByTestId('add-folder'));
    expect(d.pickPaths).toHaveBeenLastCalledWith(true, 'Choose a folder to upload');
  });

  it('browses the account’s folders for the destination; iFlytek says it keeps none', async () => {
    m.folderRoots.mockResolvedValue({ base: '0', top: '0' });
    m.listFolder.mockImplementation(async (_a, id) =>
      id === '0'
        ? { entries: [{ name: 'reports', kind: 'folder', id: '901', size: null, modified: null }], next: null }
        : { entries: [{ name: '2026', kind: 'folder', id: '902', size: null, modified: null }], next: null },
    );
    await open([]);
    await fireEvent.change(screen.getByTestId('target-account'), { target: { value: 'team' } });
    await fireEvent.click(screen.getByTestId('browse-dest'));
    await fireEvent.click(await screen.findByText('reports'));
    await fireEvent.click(await screen.findByText('2026'));
    await waitFor(() => expect(screen.getByTestId('browse-chosen')).toHaveTextContent('reports/2026'));
    await fireEvent.click(screen.getByTestId('browse-pick'));
    expect(screen.queryByTestId('folder-browser')).toBeNull();
    expect(screen.getByTestId('target-dest')).toHaveValue('reports/2026');
    expect(m.folderRoots).toHaveBeenCalledWith('team');
    expect(m.listFolder).toHaveBeenLastCalledWith('team', '902', null);

    await fireEvent.change(screen.getByTestId('target-account'), { target: { value: 'voice' } });
    expect(screen.queryByTestId('target-dest')).toBeNull();
    expect(screen.getByTestId('dest-flat')).toHaveTextContent('keeps no folders');
  });

  it('says when another Ferry process works the queue', async () => {
    m.engineStatus.mockResolvedValue({ running: false, message: 'another Ferry engine is already working this queue' });
    await open([]);
    expect(await screen.findByTestId('engine-note')).toHaveTextContent('another Ferry engine is already working this queue');
  });

  it('is translated', async () => {
    setLang('zh');
    await open([jobView(1, { state: 'paused' })]);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('上传队列');
    expect(within(rowOf(1)).getByTestId('job-state')).toHaveTextContent('已暂停');
    expect(screen.getByTestId('resume-all')).toHaveTextContent('全部继续');
  });
});
