// What the window asks of the desktop rather than of Ferry's engine: the file picker,
// drag and drop, notifications and the clipboard. Components use these functions (tests
// stub this module), never the Tauri plugins directly.
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { open } from '@tauri-apps/plugin-dialog';
import { isPermissionGranted, requestPermission, sendNotification } from '@tauri-apps/plugin-notification';

/** Lets the user pick files (or folders); resolves to their paths, empty if cancelled. */
export async function pickPaths(directory: boolean, title: string): Promise<string[]> {
  const picked = await open({ multiple: true, directory, title });
  if (picked === null) return [];
  return Array.isArray(picked) ? picked : [picked];
}

export type DragDrop = { type: 'enter'; paths: string[] } | { type: 'over' } | { type: 'drop'; paths: string[] } | { type: 'leave' };

/** Files dragged over and dropped on the window (from the OS, so not DOM drag events). */
export async function onDragDrop(handler: (event: DragDrop) => void): Promise<() => void> {
  return getCurrentWebview().onDragDropEvent((e) => {
    const p = e.payload;
    if (p.type === 'enter' || p.type === 'drop') handler({ type: p.type, paths: p.paths });
    else handler({ type: p.type });
  });
}

export interface Notice {
  title: string;
  body: string;
}

/** What was sent, newest last: the E2E tests read it, as no notification server runs there. */
export const sentNotices: Notice[] = [];

let permission: Promise<boolean> | null = null;

async function allowed(): Promise<boolean> {
  permission ??= (async () => {
    if (await isPermissionGranted()) return true;
    return (await requestPermission()) === 'granted';
  })().catch(() => false);
  return permission;
}

/** A desktop notification; failures (no notification server) are ignored. */
export async function notify(notice: Notice): Promise<void> {
  sentNotices.push(notice);
  try {
    if (await allowed()) sendNotification({ title: notice.title, body: notice.body });
  } catch {
    // Nothing to tell the user: the window shows the same news.
  }
}

/** Copies text; resolves to whether it worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // WebKitGTK may refuse the async clipboard: fall back to a selected text area.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    } finally {
      area.remove();
    }
  }
}
