import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { accounts, specs } from '../lib/accounts';
import * as api from '../lib/api';
import { setLang } from '../lib/i18n';
import { DINGTALK_ACCOUNT, SPECS, XFYUN_ACCOUNT } from '../test/fixtures';
import AccountsPage from './AccountsPage.svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  providerSpecs: vi.fn(),
  listAccounts: vi.fn(),
  addAccount: vi.fn(),
  updateAccount: vi.fn(),
  removeAccount: vi.fn(),
  testAccount: vi.fn(),
}));

const m = vi.mocked(api);

beforeEach(() => {
  vi.resetAllMocks();
  setLang('en');
  accounts.set(null);
  specs.set(null);
  m.providerSpecs.mockResolvedValue(SPECS);
  m.listAccounts.mockResolvedValue([XFYUN_ACCOUNT, DINGTALK_ACCOUNT]);
});

const row = async (name: string) => {
  const rows = await screen.findAllByTestId('account-row');
  const found = rows.find((r) => r.dataset.name === name);
  if (!found) throw new Error(`no row ${name}`);
  return found;
};

describe('AccountsPage list', () => {
  it('shows each account without secret values and with its endpoint', async () => {
    render(AccountsPage);
    const voice = await row('voice');
    expect(voice).toHaveTextContent('iFlytek (讯飞)');
    expect(voice).toHaveTextContent('https://upload-ost-api.xfyun.cn (default)');
    const setting = (r: HTMLElement, key: string) =>
      within(r).getAllByTestId('account-setting').find((el) => el.dataset.key === key);
    expect(setting(voice, 'app_id')).toHaveTextContent(/^App ID\s*app-123$/);
    expect(setting(voice, 'api_key')).toHaveTextContent(/^API key\s*stored in system keyring$/);
    expect(setting(voice, 'api_secret')).toHaveTextContent(/^API secret\s*stored in system keyring$/);
    const team = await row('team');
    expect(team).toHaveTextContent('https://dt.example.test');
    expect(setting(team, 'app_secret')).toHaveTextContent(/^App secret\s*stored in system keyring$/);
    expect(setting(team, 'conflict')).toHaveTextContent(/^If the name exists\s*Overwrite$/);
    expect(screen.queryByTestId('account-form')).toBeNull();
  });

  it('opens on the add form when there is no account', async () => {
    m.listAccounts.mockResolvedValue([]);
    render(AccountsPage);
    expect(await screen.findByTestId('account-form')).toBeInTheDocument();
    expect(screen.getByTestId('accounts-empty')).toBeInTheDocument();
  });

  it('removes an account only after the confirm step, then refreshes', async () => {
    render(AccountsPage);
    const voice = await row('voice');
    m.removeAccount.mockResolvedValue(undefined);
    await fireEvent.click(within(voice).getByTestId('account-remove'));
    expect(m.removeAccount).not.toHaveBeenCalled();
    const confirm = within(voice).getByTestId('account-remove-confirm');
    expect(confirm).toHaveFocus();
    m.listAccounts.mockResolvedValue([DINGTALK_ACCOUNT]);
    await fireEvent.click(confirm);
    expect(m.removeAccount).toHaveBeenCalledWith('voice');
    await waitFor(() => expect(screen.getAllByTestId('account-row')).toHaveLength(1));
    expect(screen.getByText('Account “voice” removed.')).toBeInTheDocument();
  });

  it('shows what the connection test answered, or its precise error', async () => {
    render(AccountsPage);
    const voice = await row('voice');
    m.testAccount.mockResolvedValueOnce('authenticated as app app-123');
    await fireEvent.click(within(voice).getByTestId('account-test'));
    expect(await within(voice).findByTestId('account-test-result')).toHaveTextContent(
      'Connection works: authenticated as app app-123',
    );
    m.testAccount.mockRejectedValueOnce(
      new api.ApiError({ kind: 'auth', field: null, message: 'iFlytek refused the API key (code 10105)' }),
    );
    await fireEvent.click(within(voice).getByTestId('account-test'));
    await waitFor(() =>
      expect(within(voice).getByTestId('account-test-result')).toHaveTextContent(
        'Authentication failed: iFlytek refused the API key (code 10105)',
      ),
    );
  });

  it('edits an account in the form and closes it after saving', async () => {
    render(AccountsPage);
    const team = await row('team');
    await fireEvent.click(within(team).getByTestId('account-edit'));
    const form = await screen.findByTestId('account-form');
    expect(within(form).getByTestId('field-name')).toHaveValue('team');
    expect(within(form).getByTestId('setting-app_secret')).toHaveValue('');
    m.updateAccount.mockResolvedValueOnce(DINGTALK_ACCOUNT);
    await fireEvent.click(within(form).getByTestId('account-submit'));
    await waitFor(() => expect(screen.queryByTestId('account-form')).toBeNull());
    expect(m.updateAccount).toHaveBeenCalledWith('team', expect.objectContaining({ secrets: {} }));
    expect(m.listAccounts).toHaveBeenCalledTimes(2);
  });
});

describe('AccountsPage banner', () => {
  it('shows an unavailable keyring prominently with its message', async () => {
    render(AccountsPage);
    await fireEvent.click(screen.getByTestId('add-account'));
    const form = await screen.findByTestId('account-form');
    m.addAccount.mockRejectedValueOnce(
      new api.ApiError({
        kind: 'keyring_unavailable',
        field: null,
        message: 'the Secret Service is not running: install and unlock gnome-keyring or KWallet',
      }),
    );
    const set = (id: string, value: string) => fireEvent.input(within(form).getByTestId(id), { target: { value } });
    await set('field-name', 'disk');
    await fireEvent.change(within(form).getByTestId('field-provider'), { target: { value: 'local' } });
    await set('setting-root', '/data');
    await fireEvent.click(within(form).getByTestId('account-submit'));

    const banner = await screen.findByTestId('banner');
    expect(banner).toHaveAttribute('role', 'alert');
    expect(banner).toHaveAttribute('data-kind', 'keyring_unavailable');
    expect(banner).toHaveTextContent('The system keyring is not available');
    expect(banner).toHaveTextContent('install and unlock gnome-keyring or KWallet');
  });

  it('shows a failure to list the accounts', async () => {
    m.listAccounts.mockRejectedValue(new api.ApiError({ kind: 'storage', field: null, message: 'database is locked' }));
    render(AccountsPage);
    const banner = await screen.findByTestId('banner');
    expect(banner).toHaveTextContent('Storage error');
    expect(banner).toHaveTextContent('database is locked');
  });
});
