import { render, screen, waitFor } from '@testing-library/svelte';
import { get } from 'svelte/store';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import { accounts, specs } from './lib/accounts';
import * as api from './lib/api';
import * as desktop from './lib/desktop';
import type { DragDrop } from './lib/desktop';
import { setTarget } from './lib/enqueue';
import { setLang } from './lib/i18n';
import { resetJobs } from './lib/jobs';
import { page, startPage } from './lib/router';
import { FakeQueue, jobView, SPECS, XFYUN_ACCOUNT } from './test/fixtures';

vi.mock('./lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./lib/api')>()),
  providerSpecs: vi.fn(),
  listAccounts: vi.fn(),
  listJobsPage: vi.fn(),
  queueRevision: vi.fn(),
  queueChanges: vi.fn(),
  enqueue: vi.fn(),
  engineStatus: vi.fn(),
  onQueueProgress: vi.fn(),
  onQueueChanged: vi.fn(),
  onEngineStatus: vi.fn(),
}));
vi.mock('./lib/desktop', () => ({ onDragDrop: vi.fn(), notify: vi.fn(), pickPaths: vi.fn(), copyText: vi.fn() }));

const m = vi.mocked(api);
let drag: (e: DragDrop) => void = () => {};

beforeEach(() => {
  vi.resetAllMocks();
  resetJobs();
  setLang('en');
  setTarget({ account: '', dest: '' });
  accounts.set(null);
  specs.set(null);
  page.set(null);
  history.replaceState(null, '', '/');
  m.providerSpecs.mockResolvedValue(SPECS);
  new FakeQueue([]).stub(m);
  m.engineStatus.mockResolvedValue({ running: true, message: null });
  m.onQueueProgress.mockResolvedValue(() => {});
  m.onQueueChanged.mockResolvedValue(() => {});
  m.onEngineStatus.mockResolvedValue(() => {});
  vi.mocked(desktop.onDragDrop).mockImplementation(async (h) => ((drag = h), () => {}));
});

describe('start page', () => {
  it('is Accounts without accounts, else Queue', () => {
    expect(startPage(0)).toBe('accounts');
    expect(startPage(2)).toBe('queue');
  });

  it('opens on Accounts when there is no account', async () => {
    m.listAccounts.mockResolvedValue([]);
    render(App);
    expect(await screen.findByTestId('account-form')).toBeInTheDocument();
    expect(location.hash).toBe('#/accounts');
    expect(screen.getByTestId('nav-accounts')).toHaveAttribute('aria-current', 'page');
  });

  it('opens on Queue when there are accounts', async () => {
    m.listAccounts.mockResolvedValue([XFYUN_ACCOUNT]);
    render(App);
    expect(await screen.findByText('No uploads yet')).toBeInTheDocument();
    expect(screen.queryByTestId('queue-add-account')).toBeNull();
    expect(screen.getByTestId('nav-queue')).toHaveAttribute('aria-current', 'page');
  });

  it('offers the way to Accounts from an empty Queue when there is no account', async () => {
    m.listAccounts.mockResolvedValue([]);
    page.set('queue');
    render(App);
    const link = await screen.findByTestId('queue-add-account');
    expect(link).toHaveAttribute('href', '#/accounts');
  });
});

describe('window', () => {
  it('links every page, counts unfinished uploads and says what the engine does', async () => {
    m.listAccounts.mockResolvedValue([XFYUN_ACCOUNT]);
    new FakeQueue([jobView(1, { state: 'uploading' }), jobView(2), jobView(3, { state: 'done' })]).stub(m);
    render(App);
    const nav = await screen.findByRole('navigation');
    const mine = ['#/queue', '#/history', '#/accounts', '#/settings'];
    const hrefs = [...nav.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? '');
    expect(hrefs.filter((h) => mine.includes(h))).toEqual(mine);
    expect(await screen.findByTestId('nav-queue-count')).toHaveTextContent('2');
    expect(screen.getByTestId('nav-queue')).toHaveAccessibleName('Queue 2 unfinished uploads');
    expect(screen.getByTestId('engine-status')).toHaveTextContent('Uploading 1');
  });

  it('queues files dropped anywhere on the window, showing where they go while dragging', async () => {
    m.listAccounts.mockResolvedValue([XFYUN_ACCOUNT]);
    m.enqueue.mockResolvedValue({ queued: [], rejected: [], notes: [] });
    page.set('settings');
    render(App);
    await waitFor(() => expect(desktop.onDragDrop).toHaveBeenCalled());
    await waitFor(() => expect(get(accounts)).not.toBeNull());
    drag({ type: 'enter', paths: ['/home/me/a.wav', '/home/me/b.wav'] });
    const overlay = await screen.findByTestId('drop-overlay');
    expect(overlay).toHaveTextContent('Drop to upload 2 items');
    expect(overlay).toHaveTextContent('voice');
    drag({ type: 'drop', paths: ['/home/me/a.wav', '/home/me/b.wav'] });
    await waitFor(() => expect(m.enqueue).toHaveBeenCalledWith(['/home/me/a.wav', '/home/me/b.wav'], 'voice', ''));
    expect(screen.queryByTestId('drop-overlay')).toBeNull();
    expect(get(page)).toBe('queue');
  });

  it('hides the overlay when the drag leaves', async () => {
    m.listAccounts.mockResolvedValue([XFYUN_ACCOUNT]);
    render(App);
    await waitFor(() => expect(desktop.onDragDrop).toHaveBeenCalled());
    drag({ type: 'enter', paths: ['/x'] });
    expect(await screen.findByTestId('drop-overlay')).toHaveTextContent('Drop to upload 1 item');
    drag({ type: 'leave' });
    await waitFor(() => expect(screen.queryByTestId('drop-overlay')).toBeNull());
    expect(m.enqueue).not.toHaveBeenCalled();
  });
});
