import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { accounts } from '../lib/accounts';
import * as api from '../lib/api';
import { setLang } from '../lib/i18n';
import WatchesPage from '../pages/WatchesPage.svelte';
import { SETTINGS, XFYUN_ACCOUNT } from '../test/fixtures';
import { DISK_ACCOUNT, watchView } from './fixtures';
import { pickFolder } from './folderPicker';
import { watches } from './store';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  listAccounts: vi.fn(),
  listWatches: vi.fn(),
  addWatch: vi.fn(),
  removeWatch: vi.fn(),
  setWatchEnabled: vi.fn(),
  getSettings: vi.fn(),
  onWatchesChanged: vi.fn(),
}));
vi.mock('./folderPicker', () => ({ pickFolder: vi.fn() }));

const m = vi.mocked(api);

const CAMERA = watchView(1, {
  dir: '/home/me/Pictures/Import',
  dest: 'camera',
  include: ['*.jpg', '*.{cr2,nef}'],
  exclude: ['*.raw'],
  after: { kind: 'move', dir: '/home/me/Uploaded' },
  quiet_secs: 5,
  status: 'watching',
  detail: '120 files in 4 folders; 4 of 65536 inotify watches',
  notes: [
    { note: 'scanned', files: 120, folders: 4 },
    { note: 'live_watches', used: 4, limit: 65536 },
  ],
  pending: 2,
  queued: 118,
});
const SCANS = watchView(2, {
  dir: '/mnt/usb/scans',
  status: 'missing',
  detail: '/mnt/usb/scans is not there (an unmounted drive?); waiting for it to come back',
  notes: [{ note: 'missing', dir: '/mnt/usb/scans' }],
  recursive: false,
});

beforeEach(() => {
  vi.resetAllMocks();
  setLang('en');
  accounts.set(null);
  watches.set(null);
  m.listAccounts.mockResolvedValue([DISK_ACCOUNT, XFYUN_ACCOUNT]);
  m.listWatches.mockResolvedValue([CAMERA, SCANS]);
  m.getSettings.mockResolvedValue(SETTINGS);
  m.onWatchesChanged.mockImplementation(async (h) => ((watchesChanged = h), () => {}));
});

let watchesChanged: () => void = () => {};

afterEach(() => {
  vi.useRealTimers();
});

const row = async (id: number) => {
  const rows = await screen.findAllByTestId('watch-row');
  const found = rows.find((r) => r.dataset.id === String(id));
  if (!found) throw new Error(`no row ${id}`);
  return found;
};

const set = (id: string, value: string) => fireEvent.input(screen.getByTestId(id), { target: { value } });

describe('WatchesPage list', () => {
  it('shows each watch: folder, destination, rules, after-upload action, status with detail, counts', async () => {
    render(WatchesPage);
    const camera = await row(1);
    expect(within(camera).getByRole('heading', { level: 3 })).toHaveTextContent('/home/me/Pictures/Import');
    expect(within(camera).getByTestId('watch-status')).toHaveTextContent('Watching · 2 files settling');
    expect(within(camera).getByTestId('watch-detail')).toHaveTextContent('120 files in 4 folders; uses 4 of the system’s 65536 folder watches');
    expect(within(camera).getByTestId('watch-dest')).toHaveTextContent('disk › camera');
    expect(within(camera).getByTestId('watch-rules')).toHaveTextContent('Only *.jpg, *.{cr2,nef} · except *.raw · with sub-folders · quiet for 5 s');
    expect(within(camera).getByTestId('watch-after')).toHaveTextContent('Move into /home/me/Uploaded');
    expect(within(camera).getByTestId('watch-pending')).toHaveTextContent('2');
    expect(within(camera).getByTestId('watch-queued')).toHaveTextContent('118');
    expect(within(camera).getByTestId('watch-toggle')).toHaveAccessibleName('Pause watching /home/me/Pictures/Import');

    const scans = await row(2);
    expect(scans).toHaveAttribute('data-status', 'missing');
    expect(within(scans).getByTestId('watch-status')).toHaveTextContent('Folder missing');
    expect(scans).toHaveTextContent('watching resumes when it comes back');
    expect(within(scans).getByTestId('watch-rules')).toHaveTextContent('All files · this folder only · quiet for 3 s');
    expect(within(scans).getByTestId('watch-dest')).toHaveTextContent('disk › top level');
    expect(screen.queryByTestId('watch-form')).toBeNull();
    expect(screen.getByRole('list', { name: 'Watched folders' })).toBeInTheDocument();
  });

  it('shows every status in Chinese too', async () => {
    setLang('zh');
    render(WatchesPage);
    expect(within(await row(1)).getByTestId('watch-status')).toHaveTextContent('正在监视 · 2 个文件等待稳定');
    expect(within(await row(2)).getByTestId('watch-status')).toHaveTextContent('文件夹不存在');
    // The watch service's notes are words of the catalogue too, not the English detail.
    expect(within(await row(1)).getByTestId('watch-detail')).toHaveTextContent('4 个文件夹中有 120 个文件；占用系统 65536 个文件夹监视名额中的 4 个');
    expect(within(await row(2)).getByTestId('watch-detail')).toHaveTextContent('/mnt/usb/scans 不存在（移动硬盘未挂载？）；等待它回来');
    expect(screen.getByTestId('add-watch')).toHaveTextContent('添加监视文件夹');
  });

  it('pauses and resumes a watch, showing what the command returned', async () => {
    render(WatchesPage);
    const camera = await row(1);
    m.setWatchEnabled.mockResolvedValueOnce({ ...CAMERA, enabled: false, status: 'paused', pending: 0, detail: null, notes: [] });
    await fireEvent.click(within(camera).getByTestId('watch-toggle'));
    expect(m.setWatchEnabled).toHaveBeenCalledWith(1, false);
    await waitFor(() => expect(within(camera).getByTestId('watch-status')).toHaveTextContent('Paused'));
    expect(camera).toHaveTextContent('Files changed meanwhile are uploaded when you resume.');
    const toggle = within(camera).getByTestId('watch-toggle');
    expect(toggle).toHaveTextContent('Resume');
    expect(toggle).toHaveAccessibleName('Resume watching /home/me/Pictures/Import');

    m.setWatchEnabled.mockResolvedValueOnce({ ...CAMERA, status: 'scanning', pending: 0 });
    await fireEvent.click(toggle);
    expect(m.setWatchEnabled).toHaveBeenLastCalledWith(1, true);
    await waitFor(() => expect(within(camera).getByTestId('watch-status')).toHaveTextContent('Scanning'));
  });

  it('removes a watch only after the confirm step', async () => {
    render(WatchesPage);
    const camera = await row(1);
    m.removeWatch.mockResolvedValue(undefined);
    await fireEvent.click(within(camera).getByTestId('watch-remove'));
    expect(m.removeWatch).not.toHaveBeenCalled();
    expect(camera).toHaveTextContent('Files already uploaded stay uploaded, and nothing in the folder is touched.');
    await fireEvent.click(within(camera).getByTestId('watch-remove-cancel'));
    expect(within(camera).queryByTestId('watch-remove-confirm')).toBeNull();
    expect(within(camera).getByTestId('watch-remove')).toHaveFocus();

    await fireEvent.click(within(camera).getByTestId('watch-remove'));
    const confirm = within(camera).getByTestId('watch-remove-confirm');
    expect(confirm).toHaveFocus();
    m.listWatches.mockResolvedValue([SCANS]);
    await fireEvent.click(confirm);
    expect(m.removeWatch).toHaveBeenCalledWith(1);
    await waitFor(() => expect(screen.getAllByTestId('watch-row')).toHaveLength(1));
    expect(screen.getByTestId('watches-notice')).toHaveTextContent('Stopped watching /home/me/Pictures/Import.');
  });

  it('shows a failed command in the banner', async () => {
    render(WatchesPage);
    const camera = await row(1);
    m.setWatchEnabled.mockRejectedValueOnce(new api.ApiError({ kind: 'storage', field: null, message: 'database is locked' }));
    await fireEvent.click(within(camera).getByTestId('watch-toggle'));
    const banner = await screen.findByTestId('banner');
    expect(banner).toHaveTextContent('database is locked');
  });
});

describe('WatchesPage follows the watch service', () => {
  it('lists again when the service says a watch changed, with no timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    const unlisten = vi.fn();
    m.onWatchesChanged.mockImplementation(async (h) => ((watchesChanged = h), unlisten));
    const { unmount } = render(WatchesPage);
    await vi.waitFor(() => expect(m.listWatches).toHaveBeenCalledTimes(1));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(m.listWatches).toHaveBeenCalledTimes(1);
    m.listWatches.mockResolvedValue([{ ...CAMERA, pending: 0, queued: 120, notes: [{ note: 'scanned', files: 122, folders: 4 }] }, SCANS]);
    watchesChanged();
    vi.useRealTimers();
    const camera = await row(1);
    await waitFor(() => expect(within(camera).getByTestId('watch-detail')).toHaveTextContent('122 files in 4 folders'));
    expect(within(camera).getByTestId('watch-queued')).toHaveTextContent('120');
    expect(within(camera).getByTestId('watch-status')).toHaveTextContent(/^Watching$/);
    expect(m.listWatches).toHaveBeenCalledTimes(2);
    unmount();
    expect(unlisten).toHaveBeenCalled();
  });
});

describe('WatchesPage form', () => {
  it('starts with the quiet period of Settings', async () => {
    m.listWatches.mockResolvedValue([]);
    m.getSettings.mockResolvedValue({ ...SETTINGS, quiet_secs: 42 });
    render(WatchesPage);
    await screen.findByTestId('watch-form');
    expect(screen.getByTestId('watch-quiet')).toHaveValue('42');
  });

  it('opens on the form when there is no watch, and adds one with its rules', async () => {
    m.listWatches.mockResolvedValue([]);
    render(WatchesPage);
    const form = await screen.findByTestId('watch-form');
    expect(screen.getByTestId('watches-empty')).toHaveTextContent('No watched folders yet');
    await waitFor(() => expect(screen.getByTestId('watch-dir')).toHaveFocus());
    expect(within(form).queryByTestId('watch-cancel')).toBeNull(); // nothing to go back to
    expect(screen.getByTestId('watch-account')).toHaveValue('disk');
    expect(screen.getByTestId('watch-quiet')).toHaveValue('3');
    expect(screen.getByTestId('watch-recursive')).toBeChecked();
    expect(screen.getByTestId('watch-after-keep')).toBeChecked();

    await set('watch-dir', '/home/me/Pictures/Import');
    await set('watch-dest', 'camera');
    // iFlytek keeps no folders: the form says so where the destination was, and sends none.
    await fireEvent.change(screen.getByTestId('watch-account'), { target: { value: 'voice' } });
    expect(screen.queryByTestId('watch-dest')).toBeNull();
    expect(screen.getByTestId('watch-dest-flat')).toHaveTextContent('iFlytek (讯飞) keeps no folders');
    await set('watch-include', '*.jpg, *.{cr2,nef}');
    await set('watch-exclude', '*.raw\n*.xmp');
    await set('watch-quiet', '5');
    await fireEvent.click(screen.getByTestId('watch-after-move'));
    await set('watch-move-dir', '/home/me/Uploaded');
    await fireEvent.click(screen.getByTestId('watch-recursive'));

    const created = watchView(7, { dir: '/home/me/Pictures/Import', status: 'starting', detail: null, notes: [] });
    m.addWatch.mockResolvedValueOnce(created);
    m.listWatches.mockResolvedValue([created]);
    await fireEvent.click(screen.getByTestId('watch-submit'));
    expect(m.addWatch).toHaveBeenCalledWith({
      dir: '/home/me/Pictures/Import',
      account: 'voice',
      dest: '',
      include: ['*.jpg', '*.{cr2,nef}'],
      exclude: ['*.raw', '*.xmp'],
      after: { kind: 'move', dir: '/home/me/Uploaded' },
      quiet_secs: 5,
      recursive: false,
    });
    await waitFor(() => expect(screen.queryByTestId('watch-form')).toBeNull());
    expect(await row(7)).toHaveAttribute('data-status', 'starting');
    expect(screen.getByTestId('watches-notice')).toHaveTextContent('Now watching /home/me/Pictures/Import.');
    expect(screen.getByTestId('add-watch')).toHaveFocus();
  });

  it('fills the folder from the folder chooser', async () => {
    render(WatchesPage);
    await fireEvent.click(await screen.findByTestId('add-watch'));
    vi.mocked(pickFolder).mockResolvedValueOnce('/home/me/Scans').mockResolvedValueOnce(null);
    await fireEvent.click(screen.getByTestId('watch-pick-dir'));
    await waitFor(() => expect(screen.getByTestId('watch-dir')).toHaveValue('/home/me/Scans'));
    expect(pickFolder).toHaveBeenCalledWith('Choose a folder to watch', '');
    await fireEvent.click(screen.getByTestId('watch-pick-dir')); // cancelled: the path stays
    await waitFor(() => expect(pickFolder).toHaveBeenCalledTimes(2));
    expect(screen.getByTestId('watch-dir')).toHaveValue('/home/me/Scans');
  });

  it('explains that delete waits for a confirmed upload', async () => {
    render(WatchesPage);
    await fireEvent.click(await screen.findByTestId('add-watch'));
    expect(screen.queryByTestId('watch-delete-note')).toBeNull();
    await fireEvent.click(screen.getByTestId('watch-after-delete'));
    expect(screen.getByTestId('watch-delete-note')).toHaveTextContent(
      'Deleted only after the provider confirmed the upload of exactly this version of the file.',
    );
    expect(screen.queryByTestId('watch-move-dir')).toBeNull();
  });

  it('shows what is missing next to each field before asking the Rust side', async () => {
    render(WatchesPage);
    await fireEvent.click(await screen.findByTestId('add-watch'));
    await set('watch-quiet', '0');
    await fireEvent.click(screen.getByTestId('watch-after-move'));
    await fireEvent.click(screen.getByTestId('watch-submit'));
    expect(await screen.findByTestId('error-watch-dir')).toHaveTextContent('Type or choose the folder to watch.');
    expect(screen.getByTestId('error-watch-quiet')).toHaveTextContent('Enter a whole number of seconds from 1 to 3600.');
    expect(screen.getByTestId('error-watch-after')).toHaveTextContent('Type or choose the folder to move uploaded files into.');
    expect(screen.getByTestId('watch-dir')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('watch-dir')).toHaveAccessibleDescription(/Type or choose the folder to watch\./);
    await waitFor(() => expect(screen.getByTestId('watch-dir')).toHaveFocus());
    expect(m.addWatch).not.toHaveBeenCalled();
  });

  it('shows the Rust side’s refusal next to the field it names', async () => {
    render(WatchesPage);
    await fireEvent.click(await screen.findByTestId('add-watch'));
    await set('watch-dir', '/home/me/Import');
    await set('watch-include', '*.{jpg');
    m.addWatch.mockRejectedValueOnce(
      new api.ApiError({ kind: 'invalid_input', field: 'include', message: 'include: "*.{jpg" is not a valid pattern: unclosed alternate group' }),
    );
    await fireEvent.click(screen.getByTestId('watch-submit'));
    expect(await screen.findByTestId('error-watch-include')).toHaveTextContent('"*.{jpg" is not a valid pattern: unclosed alternate group');
    await waitFor(() => expect(screen.getByTestId('watch-include')).toHaveFocus());
    expect(screen.queryByTestId('banner')).toBeNull();

    m.addWatch.mockRejectedValueOnce(
      new api.ApiError({ kind: 'invalid_input', field: 'quiet_secs', message: 'quiet_secs: the quiet period must be 1 to 3600 seconds' }),
    );
    await fireEvent.click(screen.getByTestId('watch-submit'));
    expect(await screen.findByTestId('error-watch-quiet')).toHaveTextContent('the quiet period must be 1 to 3600 seconds');
    expect(screen.queryByTestId('error-watch-include')).toBeNull();
    expect(screen.getByTestId('watch-form')).toBeInTheDocument();
  });

  it('closes the form with Cancel when watches exist', async () => {
    render(WatchesPage);
    await fireEvent.click(await screen.findByTestId('add-watch'));
    await fireEvent.click(screen.getByTestId('watch-cancel'));
    await waitFor(() => expect(screen.queryByTestId('watch-form')).toBeNull());
    expect(screen.getByTestId('add-watch')).toHaveFocus();
  });

  it('sends people to Accounts when there is none', async () => {
    m.listAccounts.mockResolvedValue([]);
    m.listWatches.mockResolvedValue([]);
    render(WatchesPage);
    const link = await screen.findByTestId('watches-add-account');
    expect(link).toHaveAttribute('href', '#/accounts');
    expect(screen.getByTestId('add-watch')).toBeDisabled();
    expect(screen.queryByTestId('watch-form')).toBeNull();
  });
});
