import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../lib/api';
import type { Entry, Listing } from '../lib/api';
import { setLang } from '../lib/i18n';
import FolderBrowser from './FolderBrowser.svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  folderRoots: vi.fn(),
  listFolder: vi.fn(),
  makeFolder: vi.fn(),
}));

const m = vi.mocked(api);
const folder = (name: string, id: string): Entry => ({ name, kind: 'folder', id, size: null, modified: null });
const file = (name: string, id: string): Entry => ({ name, kind: 'file', id, size: 3, modified: null });

/** A small tree: id → pages of children. The base folder "B" has two pages. */
const TREE: Record<string, Listing[]> = {
  TOP: [{ entries: [folder('base', 'B')], next: null }],
  B: [
    { entries: [folder('2024', 'Y4'), folder('2025', 'Y5'), file('notes.txt', 'F1')], next: 'page-2-opaque' },
    { entries: [folder('archive', 'AR')], next: null },
  ],
  Y5: [{ entries: [folder('q4', 'Q4')], next: null }],
  Q4: [{ entries: [], next: null }],
  NEW: [{ entries: [], next: null }],
};

function setup(from: 'base' | 'top' = 'base') {
  const onpick = vi.fn();
  const onclose = vi.fn();
  render(FolderBrowser, { props: { account: 'team', from, onpick, onclose } });
  return { onpick, onclose };
}

const names = () => screen.queryAllByTestId('browse-folder').map((b) => b.textContent?.trim().replace(/^📁\s*/, ''));

beforeEach(() => {
  vi.resetAllMocks();
  setLang('en');
  m.folderRoots.mockResolvedValue({ base: 'B', top: 'TOP' });
  m.listFolder.mockImplementation(async (_account, id, page) => {
    const pages = TREE[id] ?? [];
    return page === 'page-2-opaque' ? pages[1] : pages[0];
  });
});

describe('FolderBrowser', () => {
  it('lists only folders, by page, and passes the opaque page token back as received', async () => {
    setup();
    await waitFor(() => expect(names()).toEqual(['2024', '2025']));
    expect(screen.queryByText('notes.txt')).toBeNull();
    expect(m.listFolder).toHaveBeenCalledWith('team', 'B', null);
    await fireEvent.click(screen.getByTestId('browse-more'));
    await waitFor(() => expect(names()).toEqual(['2024', '2025', 'archive']));
    expect(m.listFolder).toHaveBeenLastCalledWith('team', 'B', 'page-2-opaque');
    expect(screen.queryByTestId('browse-more')).toBeNull();
  });

  it('goes in and out by name and picks the path with the id behind it', async () => {
    const { onpick } = setup();
    await waitFor(() => expect(names()).toContain('2025'));
    await fireEvent.click(screen.getByText('2025'));
    await waitFor(() => expect(names()).toEqual(['q4']));
    await fireEvent.click(screen.getByText('q4'));
    await waitFor(() => expect(screen.getByTestId('browse-empty')).toBeTruthy());
    expect(screen.getByTestId('browse-chosen').textContent).toBe('2025/q4');
    expect(within(screen.getByTestId('browse-trail')).queryByText('Q4')).toBeNull();
    // Out one level through the path above.
    await fireEvent.click(screen.getByTestId('browse-up-1'));
    await waitFor(() => expect(names()).toEqual(['q4']));
    expect(screen.getByTestId('browse-chosen').textContent).toBe('2025');
    await fireEvent.click(screen.getByTestId('browse-pick'));
    expect(onpick).toHaveBeenCalledWith({ path: '2025', id: 'Y5' });
  });

  it('makes a new folder where it is and goes into it', async () => {
    m.makeFolder.mockResolvedValue(folder('reports', 'NEW'));
    const { onpick } = setup();
    await waitFor(() => expect(names()).toContain('2024'));
    await fireEvent.input(screen.getByTestId('browse-new'), { target: { value: '  reports ' } });
    await fireEvent.click(screen.getByTestId('browse-make'));
    await waitFor(() => expect(m.makeFolder).toHaveBeenCalledWith('team', 'B', 'reports'));
    await waitFor(() => expect(screen.getByTestId('browse-chosen').textContent).toBe('reports'));
    await fireEvent.click(screen.getByTestId('browse-pick'));
    expect(onpick).toHaveBeenCalledWith({ path: 'reports', id: 'NEW' });
  });

  it('starts at the top of the space for a base folder setting', async () => {
    const { onpick } = setup('top');
    await waitFor(() => expect(names()).toEqual(['base']));
    expect(m.listFolder).toHaveBeenCalledWith('team', 'TOP', null);
    await fireEvent.click(screen.getByText('base'));
    await waitFor(() => expect(names()).toContain('2024'));
    await fireEvent.click(screen.getByTestId('browse-pick'));
    expect(onpick).toHaveBeenCalledWith({ path: 'base', id: 'B' });
  });

  it('shows the provider’s refusal and closes on Escape', async () => {
    m.listFolder.mockRejectedValue(new api.ApiError({ kind: 'permission', message: 'DingTalk refused listing the folder', field: null }));
    const { onclose } = setup();
    await waitFor(() => expect(screen.getByTestId('browse-error').textContent).toContain('DingTalk refused'));
    await fireEvent.keyDown(screen.getByTestId('folder-browser'), { key: 'Escape' });
    expect(onclose).toHaveBeenCalled();
  });
});
