import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, expect, it, vi } from 'vitest';
import * as api from '../lib/api';
import { setLang } from '../lib/i18n';
import DestField from './DestField.svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  folderRoots: vi.fn(),
  listFolder: vi.fn(),
  makeFolder: vi.fn(),
}));

beforeEach(() => {
  setLang('en');
  vi.mocked(api.folderRoots).mockResolvedValue({ base: 'B', top: 'TOP' });
  vi.mocked(api.listFolder).mockImplementation(async (_account, id) =>
    id === 'B' ? { entries: [{ name: 'reports', kind: 'folder', id: 'R', size: null, modified: null }], next: null } : { entries: [], next: null },
  );
});

const props = (over: Record<string, unknown> = {}) => ({
  id: 'd',
  'data-testid': 'dest',
  browseTestid: 'browse',
  value: 'inbox',
  onvalue: vi.fn(),
  account: 'team',
  ...over,
});

it('reports what is typed, and offers Browse only with an account', async () => {
  const p = props();
  const { unmount } = render(DestField, { props: p });
  const input = screen.getByTestId('dest') as HTMLInputElement;
  expect(input.value).toBe('inbox');
  await fireEvent.input(input, { target: { value: 'inbox/2026' } });
  expect(p.onvalue).toHaveBeenLastCalledWith('inbox/2026');
  expect(screen.getByTestId('browse')).toBeEnabled();
  unmount();
  render(DestField, { props: props({ account: null }) });
  expect(screen.getByTestId('browse')).toBeDisabled();
});

it('a folder picked in the browser becomes the value', async () => {
  const p = props({ value: '' });
  render(DestField, { props: p });
  await fireEvent.click(screen.getByTestId('browse'));
  await fireEvent.click(await screen.findByTestId('browse-folder'));
  await screen.findByTestId('browse-empty');
  await fireEvent.click(await screen.findByTestId('browse-pick'));
  expect(p.onvalue).toHaveBeenLastCalledWith('reports');
  expect(screen.queryByTestId('browse-pick')).toBeNull();
});
