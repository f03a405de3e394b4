import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, expect, it, vi } from 'vitest';
import { setLang } from '../lib/i18n';
import QuitDialog from './QuitDialog.svelte';

beforeEach(() => setLang('en'));

it('asks with a title and the count, focuses Cancel, and Escape cancels', async () => {
  const onquit = vi.fn();
  const oncancel = vi.fn();
  render(QuitDialog, { props: { running: 3, onquit, oncancel } });
  const dialog = screen.getByRole('alertdialog');
  expect(dialog).toHaveAccessibleName(/quit/i);
  expect(dialog).toHaveAccessibleDescription('3 uploads are running; they resume from where they stopped next time Ferry starts.');
  expect(document.activeElement).toBe(screen.getByTestId('quit-cancel'));
  await fireEvent.keyDown(window, { key: 'Escape' });
  expect(oncancel).toHaveBeenCalledTimes(1);
  await fireEvent.click(screen.getByTestId('quit-confirm'));
  expect(onquit).toHaveBeenCalledTimes(1);
});

it('says "1 upload" for one', () => {
  render(QuitDialog, { props: { running: 1, onquit: vi.fn(), oncancel: vi.fn() } });
  expect(screen.getByTestId('quit-body').textContent).toBe('1 upload is running; it resumes from where it stopped next time Ferry starts.');
});
