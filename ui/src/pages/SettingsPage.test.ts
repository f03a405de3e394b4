import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../lib/api';
import { setLang } from '../lib/i18n';
import { setTheme } from '../lib/theme';
import { SETTINGS } from '../test/fixtures';
import SettingsPage from './SettingsPage.svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  getSettings: vi.fn(),
  setSettings: vi.fn(),
  getProxy: vi.fn(),
  setProxy: vi.fn(),
}));

const m = vi.mocked(api);
const MiB = 1024 * 1024;

beforeEach(() => {
  vi.resetAllMocks();
  setLang('en');
  setTheme('system');
  m.getSettings.mockResolvedValue({ ...SETTINGS, bandwidth: 3 * MiB, part_size: 5 * MiB });
  m.setSettings.mockImplementation(async (s) => s);
  m.getProxy.mockResolvedValue({ proxy: 'system', has_credentials: false });
  m.setProxy.mockImplementation(async (i) => ({ proxy: i.proxy, has_credentials: i.credentials.action !== 'clear' }));
});

const field = (name: string) => screen.getByTestId(`setting-field-${name}`) as HTMLInputElement;

describe('SettingsPage', () => {
  it('shows the engine settings in readable units', async () => {
    render(SettingsPage);
    await screen.findByTestId('settings-form');
    expect(field('max_files').value).toBe('3');
    expect(field('bandwidth').value).toBe('3');
    expect((screen.getByTestId('setting-field-bandwidth-unit') as HTMLSelectElement).value).toBe('MiB');
    expect(field('part_size').value).toBe('5');
    expect(screen.getByLabelText('Files at once')).toBe(field('max_files'));
    expect(screen.getByTestId('settings-save')).toBeDisabled(); // nothing changed yet
  });

  it('saves changed settings in bytes (the bandwidth applies at once)', async () => {
    render(SettingsPage);
    await screen.findByTestId('settings-form');
    await fireEvent.input(field('bandwidth'), { target: { value: '512' } });
    await fireEvent.change(screen.getByTestId('setting-field-bandwidth-unit'), { target: { value: 'KiB' } });
    await fireEvent.input(field('parts_per_file'), { target: { value: '2' } });
    await fireEvent.click(screen.getByTestId('settings-save'));
    await waitFor(() =>
      expect(m.setSettings).toHaveBeenCalledWith({ ...SETTINGS, bandwidth: 512 * 1024, part_size: 5 * MiB, parts_per_file: 2 }),
    );
    expect(await screen.findByText('Settings saved.')).toBeInTheDocument();
  });

  it('refuses bad values next to their field, and shows the engine’s own refusal', async () => {
    render(SettingsPage);
    await screen.findByTestId('settings-form');
    await fireEvent.input(field('max_files'), { target: { value: '65' } });
    await fireEvent.input(field('part_size'), { target: { value: 'big' } });
    await fireEvent.click(screen.getByTestId('settings-save'));
    expect(m.setSettings).not.toHaveBeenCalled();
    expect(screen.getByTestId('error-max_files')).toHaveTextContent('Enter a number from 1 to 64.');
    expect(screen.getByTestId('error-part_size')).toHaveTextContent('Enter a number.');
    expect(field('max_files')).toHaveAttribute('aria-invalid', 'true');
    expect(field('max_files')).toHaveAccessibleDescription(/Enter a number from 1 to 64\./);
    await fireEvent.input(field('max_files'), { target: { value: '4' } });
    await fireEvent.input(field('part_size'), { target: { value: '5' } });
    expect(screen.queryByTestId('error-max_files')).toBeNull();
    m.setSettings.mockRejectedValue(new api.ApiError({ kind: 'invalid_input', message: '4 is too many for this disk', field: 'max_files' }));
    await fireEvent.click(screen.getByTestId('settings-save'));
    expect(await screen.findByTestId('error-max_files')).toHaveTextContent('4 is too many for this disk');
  });

  it('undoes unsaved changes', async () => {
    render(SettingsPage);
    await screen.findByTestId('settings-form');
    await fireEvent.input(field('job_attempts'), { target: { value: '9' } });
    await fireEvent.click(screen.getByTestId('settings-revert'));
    expect(field('job_attempts').value).toBe('3');
  });

  it('switches language and theme at once', async () => {
    render(SettingsPage);
    await fireEvent.change(screen.getByTestId('pref-theme'), { target: { value: 'dark' } });
    expect(document.documentElement.dataset.theme).toBe('dark');
    await fireEvent.change(screen.getByTestId('pref-lang'), { target: { value: 'zh' } });
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('设置');
    expect(await screen.findByLabelText('同时上传的文件数')).toBeInTheDocument();
  });

  it('sets a custom proxy with credentials, then shows them only as saved', async () => {
    render(SettingsPage);
    await screen.findByTestId('proxy-form');
    expect(screen.getByTestId('proxy-mode-system')).toBeChecked();
    expect(screen.getByTestId('proxy-save')).toBeDisabled();
    await fireEvent.click(screen.getByTestId('proxy-mode-custom'));
    await fireEvent.input(screen.getByTestId('proxy-url'), { target: { value: 'ftp://h:21' } });
    await fireEvent.click(screen.getByTestId('proxy-save'));
    expect(m.setProxy).not.toHaveBeenCalled();
    expect(screen.getByTestId('error-proxy_url')).toHaveTextContent('Enter a URL such as http://proxy.example:3128');
    await fireEvent.input(screen.getByTestId('proxy-url'), { target: { value: 'http://127.0.0.1:3128' } });
    await fireEvent.input(screen.getByTestId('proxy-user'), { target: { value: 'me' } });
    await fireEvent.input(screen.getByTestId('proxy-password'), { target: { value: 'hunter2' } });
    await fireEvent.click(screen.getByTestId('proxy-save'));
    await waitFor(() =>
      expect(m.setProxy).toHaveBeenCalledWith({ proxy: 'http://127.0.0.1:3128', credentials: { action: 'set', user: 'me', password: 'hunter2' } }),
    );
    expect(await screen.findByText('Proxy saved.')).toBeInTheDocument();
    const password = screen.getByTestId('proxy-password') as HTMLInputElement;
    expect(password.value).toBe('');
    expect(password).toHaveAttribute('placeholder', 'stored in system keyring');
    expect(screen.getByTestId('proxy-save')).toBeDisabled();
    // Forgetting them is a change; None sends no credentials at all.
    await fireEvent.click(screen.getByTestId('proxy-mode-none'));
    await fireEvent.click(screen.getByTestId('proxy-save'));
    await waitFor(() => expect(m.setProxy).toHaveBeenLastCalledWith({ proxy: 'none', credentials: { action: 'clear' } }));
  });

  it('shows the engine’s refusal of a proxy next to the URL', async () => {
    m.getProxy.mockResolvedValue({ proxy: 'http://127.0.0.1:3128', has_credentials: true });
    m.setProxy.mockRejectedValue(new api.ApiError({ kind: 'invalid_input', message: 'proxy: the URL has no port', field: 'proxy' }));
    render(SettingsPage);
    await screen.findByTestId('proxy-form');
    expect(screen.getByTestId('proxy-mode-custom')).toBeChecked();
    expect((screen.getByTestId('proxy-url') as HTMLInputElement).value).toBe('http://127.0.0.1:3128');
    await fireEvent.input(screen.getByTestId('proxy-url'), { target: { value: 'http://127.0.0.1:3129' } });
    await fireEvent.click(screen.getByTestId('proxy-save'));
    await waitFor(() => expect(m.setProxy).toHaveBeenCalledWith({ proxy: 'http://127.0.0.1:3129', credentials: { action: 'keep' } }));
    expect(await screen.findByTestId('error-proxy_url')).toHaveTextContent('proxy: the URL has no port');
  });
});
