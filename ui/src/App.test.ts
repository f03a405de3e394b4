import { render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import { accounts, specs } from './lib/accounts';
import * as api from './lib/api';
import { page, startPage } from './lib/router';
import { XFYUN_ACCOUNT, SPECS } from './test/fixtures';

vi.mock('./lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./lib/api')>()),
  providerSpecs: vi.fn(),
  listAccounts: vi.fn(),
}));

const m = vi.mocked(api);

beforeEach(() => {
  vi.resetAllMocks();
  accounts.set(null);
  specs.set(null);
  page.set(null);
  history.replaceState(null, '', '/');
  m.providerSpecs.mockResolvedValue(SPECS);
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
