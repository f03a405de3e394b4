import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../lib/api';
import { setLang } from '../lib/i18n';
import { DINGTALK_ACCOUNT, SPECS, XFYUN_ACCOUNT } from '../test/fixtures';
import AccountForm from './AccountForm.svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  addAccount: vi.fn(),
  updateAccount: vi.fn(),
  folderRoots: vi.fn(),
  listFolder: vi.fn(),
}));

const addAccount = vi.mocked(api.addAccount);
const updateAccount = vi.mocked(api.updateAccount);

function setup(editing: api.Account | null = null) {
  const onsaved = vi.fn();
  const onerror = vi.fn();
  const oncancel = vi.fn();
  const result = render(AccountForm, { props: { specs: SPECS, editing, onsaved, onerror, oncancel } });
  return { ...result, onsaved, onerror, oncancel };
}

const byTestId = (id: string) => screen.getByTestId(id) as HTMLInputElement;

async function choose(provider: string) {
  await fireEvent.change(byTestId('field-provider'), { target: { value: provider } });
}

async function type(testId: string, value: string) {
  await fireEvent.input(byTestId(testId), { target: { value } });
}

beforeEach(() => {
  setLang('en');
  addAccount.mockReset();
  updateAccount.mockReset();
});

describe('AccountForm fields', () => {
  it('lists every provider and shows no setting before one is chosen', () => {
    setup();
    const options = [...(byTestId('field-provider') as unknown as HTMLSelectElement).options].map((o) => o.value);
    expect(options).toEqual(['', 'local', 'xfyun', 'dingtalk', 'feishu', 'pds']);
    expect(screen.queryByTestId(/^setting-/)).toBeNull();
    expect(screen.queryByTestId('field-endpoint')).toBeNull();
  });

  it('renders one labelled field per setting of the chosen provider', async () => {
    setup();
    await choose('dingtalk');
    for (const key of ['app_key', 'union_id', 'space_id', 'parent_id', 'conflict', 'app_secret']) {
      expect(byTestId(`setting-${key}`)).toBeInTheDocument();
    }
    expect(screen.getByLabelText(/App key/)).toBe(byTestId('setting-app_key'));
    expect(byTestId('setting-parent_id').placeholder).toBe('0');
    expect(byTestId('field-endpoint').placeholder).toBe('https://api.dingtalk.com');
    expect(byTestId('setting-app_key')).toBeRequired();
    expect(byTestId('setting-parent_id')).not.toBeRequired();
  });

  it('makes a setting with choices a select preselected to its default', async () => {
    setup();
    await choose('dingtalk');
    const select = byTestId('setting-conflict') as unknown as HTMLSelectElement;
    expect(select.tagName).toBe('SELECT');
    expect(select.value).toBe('AUTO_RENAME');
    expect([...select.options].map((o) => o.value)).toEqual([
      'AUTO_RENAME',
      'OVERWRITE',
      'RETURN_DENTRY_IF_EXISTS',
      'RETURN_ERROR_IF_EXISTS',
    ]);
  });

  it('makes secrets password inputs without autocomplete', async () => {
    setup();
    await choose('pds');
    for (const key of ['client_secret', 'refresh_token']) {
      const input = byTestId(`setting-${key}`);
      expect(input.type).toBe('password');
      expect(input.autocomplete).toBe('off');
      expect(input).toBeRequired();
      expect(input.value).toBe('');
    }
    expect(byTestId('setting-client_id').type).toBe('text');
  });

  it('on edit, prefills settings but never secrets, says empty keeps them, and locks the provider', () => {
    setup(XFYUN_ACCOUNT);
    expect(byTestId('field-name').value).toBe('voice');
    expect(byTestId('setting-app_id').value).toBe('app-123');
    const key = byTestId('setting-api_key');
    expect(key.type).toBe('password');
    expect(key.value).toBe('');
    expect(key).not.toBeRequired();
    expect(key).toHaveAccessibleDescription(/Leave empty to keep the stored value/);
    expect(byTestId('field-provider')).toBeDisabled();
    expect(byTestId('account-submit')).toHaveTextContent('Save changes');
  });

  it('picks a saved account’s base folder with Browse…, from the top of its space, by name', async () => {
    vi.mocked(api.folderRoots).mockResolvedValue({ base: '0', top: '0' });
    vi.mocked(api.listFolder).mockImplementation(async (_a, id) =>
      id === '0'
        ? { entries: [{ name: 'Team uploads', kind: 'folder', id: '5507', size: null, modified: null }], next: null }
        : { entries: [], next: null },
    );
    setup(DINGTALK_ACCOUNT);
    expect(byTestId('setting-parent_id').value).toBe('0');
    await fireEvent.click(byTestId('browse-parent_id'));
    await fireEvent.click(await screen.findByText('Team uploads'));
    await waitFor(() => expect(screen.getByTestId('browse-chosen')).toHaveTextContent('Team uploads'));
    await fireEvent.click(screen.getByTestId('browse-pick'));
    expect(byTestId('setting-parent_id').value).toBe('5507');
    expect(api.folderRoots).toHaveBeenCalledWith('team');
  });

  it('offers Browse… for a base folder only once the account is saved', async () => {
    setup();
    await choose('dingtalk');
    expect(byTestId('browse-parent_id')).toBeDisabled();
    expect(byTestId('setting-parent_id')).toHaveAccessibleDescription(/Save the account first/);
    expect(screen.queryByTestId('browse-app_key')).toBeNull();
  });

  it('is translated', async () => {
    setLang('zh');
    setup();
    await choose('xfyun');
    expect(screen.getByLabelText('API 密钥')).toBe(byTestId('setting-api_key'));
    expect(screen.getByRole('option', { name: '讯飞开放平台' })).toBeInTheDocument();
  });
});

describe('AccountForm submit', () => {
  it('sends settings and secrets apart, leaves empty ones out, then clears the form', async () => {
    const { onsaved } = setup();
    const saved = { ...DINGTALK_ACCOUNT, name: 'dt' };
    addAccount.mockResolvedValueOnce(saved);
    await type('field-name', 'dt');
    await choose('dingtalk');
    await type('setting-app_key', 'ak');
    await type('setting-union_id', 'u1');
    await type('setting-space_id', 's1');
    await type('setting-app_secret', 'top-secret');
    await fireEvent.change(byTestId('setting-conflict'), { target: { value: 'OVERWRITE' } });
    await fireEvent.click(byTestId('account-submit'));

    await waitFor(() => expect(onsaved).toHaveBeenCalledWith(saved));
    expect(addAccount).toHaveBeenCalledWith({
      name: 'dt',
      provider: 'dingtalk',
      endpoint: null,
      settings: { app_key: 'ak', union_id: 'u1', space_id: 's1', conflict: 'OVERWRITE' },
      secrets: { app_secret: 'top-secret' },
    });
    expect(byTestId('field-name').value).toBe('');
    expect((byTestId('field-provider') as unknown as HTMLSelectElement).value).toBe('');
    expect(screen.queryByTestId('setting-app_secret')).toBeNull();
    expect(document.body.innerHTML).not.toContain('top-secret');
  });

  it('on edit, omits empty secrets so the stored ones are kept', async () => {
    const { onsaved } = setup(XFYUN_ACCOUNT);
    updateAccount.mockResolvedValueOnce(XFYUN_ACCOUNT);
    await type('setting-api_secret', 'new-secret');
    await fireEvent.click(byTestId('account-submit'));
    await waitFor(() => expect(onsaved).toHaveBeenCalled());
    expect(updateAccount).toHaveBeenCalledWith('voice', {
      name: 'voice',
      provider: 'xfyun',
      endpoint: null,
      settings: { app_id: 'app-123' },
      secrets: { api_secret: 'new-secret' },
    });
  });

  it('shows a UiError with a field next to that field', async () => {
    const { onerror, onsaved } = setup();
    addAccount.mockRejectedValueOnce(
      new api.ApiError({ kind: 'invalid_input', field: 'root', message: 'root: must be an absolute folder path' }),
    );
    await type('field-name', 'disk');
    await choose('local');
    await type('setting-root', 'relative/dir');
    await fireEvent.click(byTestId('account-submit'));

    const error = await screen.findByTestId('error-root');
    expect(error).toHaveTextContent('must be an absolute folder path');
    expect(byTestId('setting-root')).toHaveAttribute('aria-invalid', 'true');
    expect(byTestId('setting-root')).toHaveAccessibleDescription(/must be an absolute folder path/);
    expect(byTestId('field-name')).not.toHaveAttribute('aria-invalid');
    expect(byTestId('setting-root').value).toBe('relative/dir');
    expect(onerror).not.toHaveBeenCalledWith(expect.objectContaining({ field: 'root' }));
    expect(onsaved).not.toHaveBeenCalled();
  });

  it('shows a duplicate name next to the name', async () => {
    setup();
    addAccount.mockRejectedValueOnce({ kind: 'conflict', field: 'name', message: 'an account named "disk" already exists' });
    await type('field-name', 'disk');
    await choose('local');
    await type('setting-root', '/data');
    await fireEvent.click(byTestId('account-submit'));
    expect(await screen.findByTestId('error-name')).toHaveTextContent('an account named "disk" already exists');
    expect(byTestId('field-name')).toHaveAttribute('aria-invalid', 'true');
  });

  it('hands an error without a field to the banner and keeps what was typed', async () => {
    const { onerror } = setup();
    const keyring = { kind: 'keyring_unavailable' as const, field: null, message: 'no Secret Service: install gnome-keyring' };
    addAccount.mockRejectedValueOnce(new api.ApiError(keyring));
    await type('field-name', 'voice');
    await choose('xfyun');
    await type('setting-app_id', 'id');
    await type('setting-api_key', 'k');
    await type('setting-api_secret', 's');
    await fireEvent.click(byTestId('account-submit'));
    await waitFor(() => expect(onerror).toHaveBeenLastCalledWith(keyring));
    expect(screen.queryByTestId(/^error-/)).toBeNull();
    expect(byTestId('field-name').value).toBe('voice');
  });

  it('checks required fields before calling the backend', async () => {
    setup();
    await choose('xfyun');
    await fireEvent.click(byTestId('account-submit'));
    expect(addAccount).not.toHaveBeenCalled();
    expect(screen.getByTestId('error-name')).toHaveTextContent('This field is required.');
    expect(screen.getByTestId('error-app_id')).toBeInTheDocument();
    expect(screen.getByTestId('error-api_key')).toBeInTheDocument();
    expect(byTestId('field-name')).toHaveFocus();
  });
});
