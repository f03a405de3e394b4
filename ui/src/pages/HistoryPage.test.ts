import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../lib/api';
import * as desktop from '../lib/desktop';
import { setLang } from '../lib/i18n';
import { resetJobs, startJobs } from '../lib/jobs';
import { FakeQueue, jobView } from '../test/fixtures';
import HistoryPage from './HistoryPage.svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  listJobsPage: vi.fn(),
  queueRevision: vi.fn(),
  queueChanges: vi.fn(),
  clearHistory: vi.fn(),
  engineStatus: vi.fn(),
  onQueueProgress: vi.fn(),
  onQueueChanged: vi.fn(),
  onEngineStatus: vi.fn(),
}));
vi.mock('../lib/desktop', () => ({ copyText: vi.fn(), notify: vi.fn(), onDragDrop: vi.fn(), pickPaths: vi.fn() }));

const m = vi.mocked(api);
const d = vi.mocked(desktop);

const JOBS = [
  jobView(1, { state: 'done', name: 'talk.wav', finished_at: 1_700_000_500_000, result: { id: null, name: null, url: 'https://ost.test/talk.wav' } }),
  jobView(2, { state: 'uploading' }),
  jobView(3, { state: 'cancelled', name: 'big.iso', finished_at: 1_700_000_400_000 }),
  jobView(4, { state: 'done', name: 'slides.pdf', account: 'team', dest: 'decks', finished_at: 1_700_000_600_000, result: { id: 'boxcnAbc', name: null, url: null, rapid: true } }),
];

beforeEach(async () => {
  vi.resetAllMocks();
  resetJobs();
  setLang('en');
  m.engineStatus.mockResolvedValue({ running: true, message: null });
  m.onQueueProgress.mockResolvedValue(() => {});
  m.onQueueChanged.mockResolvedValue(() => {});
  m.onEngineStatus.mockResolvedValue(() => {});
  new FakeQueue(JOBS).stub(m);
  await startJobs();
});

const names = () => screen.getAllByTestId('history-row').map((r) => r.dataset.name);

describe('HistoryPage', () => {
  it('lists finished uploads newest first with time, size, account and result', () => {
    render(HistoryPage);
    expect(names()).toEqual(['slides.pdf', 'talk.wav', 'big.iso']);
    const [slides, talk, iso] = screen.getAllByTestId('history-row');
    expect(within(slides).getByTestId('history-result')).toHaveTextContent('boxcnAbc');
    expect(within(slides).getByTestId('history-result')).toHaveAttribute('data-kind', 'id');
    expect(slides).toHaveTextContent('instant');
    expect(slides).toHaveTextContent('team › decks');
    expect(within(talk).getByTestId('history-result')).toHaveTextContent('https://ost.test/talk.wav');
    expect(talk).toHaveTextContent('40 MiB');
    expect(talk).toHaveTextContent('2023'); // finished on another day: the date shows
    expect(iso).toHaveTextContent('Cancelled');
    expect(within(iso).queryByTestId('history-copy')).toBeNull();
    expect(screen.getByTestId('history-summary')).toHaveTextContent('3 finished uploads');
  });

  it('copies a result', async () => {
    d.copyText.mockResolvedValue(true);
    render(HistoryPage);
    const talk = screen.getAllByTestId('history-row')[1];
    await fireEvent.click(within(talk).getByRole('button', { name: 'Copy the result of talk.wav' }));
    expect(d.copyText).toHaveBeenCalledWith('https://ost.test/talk.wav');
    expect(await within(talk).findByRole('status')).toHaveTextContent('Copied');
  });

  it('keeps the copy feedback with its job when the list reuses the row for another', async () => {
    d.copyText.mockResolvedValue(true);
    render(HistoryPage);
    const slides = screen.getAllByTestId('history-row')[0];
    await fireEvent.click(within(slides).getByRole('button', { name: 'Copy the result of slides.pdf' }));
    expect(await within(slides).findByRole('status')).toHaveTextContent('Copied');
    await fireEvent.input(screen.getByTestId('history-search'), { target: { value: 'talk' } });
    const [talk] = screen.getAllByTestId('history-row');
    expect(talk).toBe(slides); // the same element, now drawing talk.wav
    expect(talk).toHaveAttribute('data-name', 'talk.wav');
    expect(within(talk).getByRole('status')).toHaveTextContent('');
  });

  it('searches and filters', async () => {
    render(HistoryPage);
    await fireEvent.input(screen.getByTestId('history-search'), { target: { value: 'ost.test' } });
    expect(names()).toEqual(['talk.wav']);
    expect(screen.getByTestId('history-summary')).toHaveTextContent('1 of 3 finished uploads');
    await fireEvent.input(screen.getByTestId('history-search'), { target: { value: '' } });
    await fireEvent.change(screen.getByTestId('history-state'), { target: { value: 'cancelled' } });
    expect(names()).toEqual(['big.iso']);
    await fireEvent.change(screen.getByTestId('history-state'), { target: { value: 'all' } });
    await fireEvent.change(screen.getByTestId('history-account'), { target: { value: 'team' } });
    expect(names()).toEqual(['slides.pdf']);
    await fireEvent.input(screen.getByTestId('history-search'), { target: { value: 'nothing' } });
    expect(screen.getByTestId('history-none')).toBeInTheDocument();
  });

  it('clears after asking', async () => {
    m.clearHistory.mockResolvedValue(3);
    render(HistoryPage);
    await fireEvent.click(screen.getByTestId('history-clear'));
    expect(m.clearHistory).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId('history-clear-confirm'));
    expect(m.clearHistory).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.getByText('Cleared 3 entries.')).toBeInTheDocument());
  });

  it('is translated', () => {
    setLang('zh');
    render(HistoryPage);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('历史记录');
    expect(screen.getAllByTestId('history-row')[2]).toHaveTextContent('已取消');
  });
});
