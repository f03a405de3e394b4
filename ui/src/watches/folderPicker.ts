// The native folder chooser, for the watched folder and the folder uploaded files move to.
// Components call this (tests stub this module), never the dialog plugin directly.
import { open } from '@tauri-apps/plugin-dialog';

/** Lets the user choose one folder; resolves to its path, or `null` if cancelled. */
export async function pickFolder(title: string, defaultPath?: string): Promise<string | null> {
  const picked = await open({ directory: true, multiple: false, title, defaultPath: defaultPath || undefined });
  return typeof picked === 'string' ? picked : null;
}
