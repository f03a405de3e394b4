// The one door to the Rust side. Components call these functions, never `commands`
// directly: each one returns the value or throws an `ApiError` carrying a `UiError`,
// and tests stub this module with `vi.mock`.
import {
  commands,
  events,
  type Account,
  type AccountInput,
  type ControlReport,
  type EngineSettings,
  type EngineStatus,
  type ProxyInput,
  type ProxyView,
  type EnqueueReport,
  type Entry,
  type ErrorKind,
  type FolderRoots,
  type JobControl,
  type JobProgress,
  type JobView,
  type Listing,
  type PartView,
  type ProviderSpec,
  type QueueChanges,
  type Result,
  type UiError,
  type Autostart,
  type Lang,
  type TrayAction,
  type TrayMenu,
  type EngineProblem,
  type DatabaseProblem,
} from './bindings';

export type { Account, AccountInput, ErrorKind, ProviderKind, ProviderSpec, SettingSpec, UiError } from './bindings';
import type { Watch, WatchInput } from './bindings';
export type { AfterUpload, UnreadableFolder, Watch, WatchInput, WatchNote, WatchStatus } from './bindings';
export type { Entry, EntryKind, FolderRoots, Listing } from './bindings';
export type { CredentialsInput, ProxyInput, ProxyView } from './bindings';
export type { Autostart, DatabaseProblem, EngineProblem, Lang, TrayAction, TrayMenu } from './bindings';
export type {
  Committed,
  ControlReport,
  EngineSettings,
  EngineStatus,
  EnqueueReport,
  JobControl,
  JobProgress,
  JobState,
  JobView,
  PartLive,
  PartProgress,
  PartView,
  QueueChanges,
} from './bindings';

/** A failed command. `error` is what the Rust side sent (kind, message, field). */
export class ApiError extends Error {
  readonly error: UiError;

  constructor(error: UiError) {
    super(error.message);
    this.name = 'ApiError';
    this.error = error;
  }

  get kind(): ErrorKind {
    return this.error.kind;
  }

  get field(): string | null {
    return this.error.field;
  }
}

function isUiError(value: unknown): value is UiError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.kind === 'string' &&
    typeof v.message === 'string' &&
    (v.field === null || v.field === undefined || typeof v.field === 'string')
  );
}

/**
 * Anything thrown or rejected, as a `UiError`: a `UiError` as is, an `ApiError`'s own,
 * and anything else (Tauri's plain-string rejections such as "command not found", a
 * `TypeError` when the page runs outside Tauri) as kind `internal` with its text.
 */
export function toUiError(e: unknown): UiError {
  if (e instanceof ApiError) return e.error;
  if (isUiError(e)) return { kind: e.kind, message: e.message, field: e.field ?? null };
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e) ?? String(e);
  return { kind: 'internal', message, field: null };
}

/** The value of an `ok` result; for an `error` one, throws an `ApiError`. */
export function unwrap<T>(result: Result<T, UiError>): T {
  if (result.status === 'ok') return result.data;
  throw new ApiError(toUiError(result.error));
}

/** Runs a command, turning every failure (a result's error or a throw) into an `ApiError`. */
async function call<T>(run: () => Promise<Result<T, UiError>>): Promise<T> {
  let result: Result<T, UiError>;
  try {
    result = await run();
  } catch (e) {
    throw new ApiError(toUiError(e));
  }
  return unwrap(result);
}

export async function providerSpecs(): Promise<ProviderSpec[]> {
  return call(async () => ({ status: 'ok', data: await commands.providerSpecs() }));
}

export function listAccounts(): Promise<Account[]> {
  return call(() => commands.listAccounts());
}

export function addAccount(input: AccountInput): Promise<Account> {
  return call(() => commands.addAccount(input));
}

export function updateAccount(name: string, input: AccountInput): Promise<Account> {
  return call(() => commands.updateAccount(name, input));
}

export async function removeAccount(name: string): Promise<void> {
  await call(() => commands.removeAccount(name));
}

/** Checks the account's credentials against its provider; resolves to the provider's answer. */
export function testAccount(name: string): Promise<string> {
  return call(() => commands.testAccount(name));
}

/** Every watched folder with its live status (the watch service updates it in SQLite). */
export function listWatches(): Promise<Watch[]> {
  return call(() => commands.listWatches());
}

/** Starts watching a folder; refusals name their field (dir, account, include, exclude, after, quiet_secs). */
export function addWatch(input: WatchInput): Promise<Watch> {
  return call(() => commands.addWatch(input));
}

/** Stops watching; nothing in the folder is touched. */
export async function removeWatch(id: number): Promise<void> {
  await call(() => commands.removeWatch(id));
}

/** Pauses (`false`) or resumes (`true`) a watch; resolves to the watch as it is now. */
export function setWatchEnabled(id: number, enabled: boolean): Promise<Watch> {
  return call(() => commands.setWatchEnabled(id, enabled));
}

/** Every job, oldest first. */
export function listJobs(): Promise<JobView[]> {
  return call(() => commands.listJobs());
}

/** Up to `limit` jobs with ids above `afterId`, oldest first (long queues load page by page). */
export function listJobsPage(afterId: number, limit: number): Promise<JobView[]> {
  return call(() => commands.listJobsPage(afterId, limit));
}

/** The queue's revision now (noted before listing it). */
export function queueRevision(): Promise<number> {
  return call(() => commands.queueRevision());
}

/** What changed after revision `since`, at most `limit` jobs; ask again while `more`. */
export function queueChanges(since: number, limit: number): Promise<QueueChanges> {
  return call(() => commands.queueChanges(since, limit));
}

/** One job's parts as the ledger has them (for its part grid). */
export function jobParts(id: number): Promise<PartView[]> {
  return call(() => commands.jobParts(id));
}

/** Queues files and folders for an account; `dest` is the folder within the account. */
export function enqueue(paths: string[], account: string, dest: string): Promise<EnqueueReport> {
  return call(() => commands.enqueue(paths, account, dest));
}

/** Where browsing an account's folders starts: its base folder and the top of its space. */
export function folderRoots(account: string): Promise<FolderRoots> {
  return call(() => commands.folderRoots(account));
}

/** One page of a folder's children (folders first, by name); pass the last `next` for more. */
export function listFolder(account: string, folder: string, page: string | null): Promise<Listing> {
  return call(() => commands.listFolder(account, folder, page));
}

/** Makes the folder `name` in `parent` (or finds the one already there). */
export function makeFolder(account: string, parent: string, name: string): Promise<Entry> {
  return call(() => commands.makeFolder(account, parent, name));
}

/** Pauses, resumes (or retries) or cancels jobs; `ids = null` means every job it applies to. */
export function controlJobs(control: JobControl, ids: number[] | null): Promise<ControlReport> {
  return call(() => commands.controlJobs(control, ids));
}

/** Forgets finished uploads; resolves to how many. */
export function clearHistory(): Promise<number> {
  return call(() => commands.clearHistory());
}

export function getSettings(): Promise<EngineSettings> {
  return call(() => commands.getSettings());
}

export function setSettings(settings: EngineSettings): Promise<EngineSettings> {
  return call(() => commands.setSettings(settings));
}

/** The proxy setting: its URL or system/none, and whether credentials are saved (never them). */
export function getProxy(): Promise<ProxyView> {
  return call(() => commands.getProxy());
}

export function setProxy(input: ProxyInput): Promise<ProxyView> {
  return call(() => commands.setProxy(input));
}

export async function engineStatus(): Promise<EngineStatus> {
  return call(async () => ({ status: 'ok', data: await commands.engineStatus() }));
}

export type Unlisten = () => void;

/** Coalesced progress (at most 10 a second); resolves to the function that stops listening. */
export function onQueueProgress(handler: (updates: JobProgress[]) => void): Promise<Unlisten> {
  return events.queueProgress.listen((e) => handler(e.payload));
}

/** The queue changed shape: jobs added or removed, controls applied. */
export function onQueueChanged(handler: () => void): Promise<Unlisten> {
  return events.queueChanged.listen(() => handler());
}

/** A watch's status, notes, pending or queued count changed: list the watches again. */
export function onWatchesChanged(handler: () => void): Promise<Unlisten> {
  return events.watchesChanged.listen(() => handler());
}

export function onEngineStatus(handler: (status: EngineStatus) => void): Promise<Unlisten> {
  return events.engineStatus.listen((e) => handler(e.payload));
}

/** Tells Rust the page's language (the tray and notifications follow it). */
export function setUiLanguage(lang: Lang): Promise<null> {
  return call(() => commands.setUiLanguage(lang));
}

/** Paths given to `ferry FILE...` not queued yet (each is handed out once). */
export async function takeOpenedFiles(): Promise<string[]> {
  return call(async () => ({ status: 'ok', data: await commands.takeOpenedFiles() }));
}

/** A launch gave files to queue: take them. */
export function onFilesOpened(handler: () => void): Promise<Unlisten> {
  return events.filesOpened.listen(() => handler());
}

/** Quit was asked while uploads run: ask the user, then `quitApp()`. */
export function onQuitRequested(handler: (running: number) => void): Promise<Unlisten> {
  return events.quitRequested.listen((e) => handler(e.payload.running));
}

export async function quitApp(): Promise<void> {
  await commands.quitApp();
}

/** Start at login, as the autostart entry says. */
export async function getAutostart(): Promise<Autostart> {
  return call(async () => ({ status: 'ok', data: await commands.getAutostart() }));
}

export function setAutostart(want: Autostart): Promise<Autostart> {
  return call(() => commands.setAutostart(want));
}

/** What a tray menu item does (the same code as the click). */
export async function trayAction(action: TrayAction): Promise<void> {
  await commands.trayAction(action);
}

export function trayMenu(): Promise<TrayMenu> {
  return call(() => commands.trayMenu());
}

/** The engine's persistent problem now (disk full, database locked, …), or null. */
export async function engineProblem(): Promise<EngineProblem | null> {
  return call(async () => ({ status: 'ok', data: await commands.engineProblem() }));
}

/** The engine's problem began (a value) or cleared (null). */
export function onEngineHealth(handler: (problem: EngineProblem | null) => void): Promise<Unlisten> {
  return events.engineHealth.listen((e) => handler(e.payload));
}

/** Why the database could not be opened at start, or null. */
export async function startupProblem(): Promise<DatabaseProblem | null> {
  return call(async () => ({ status: 'ok', data: await commands.startupProblem() }));
}

/** Moves the unusable database aside (kept) and starts fresh; resolves to the old file's new path. */
export function moveDatabaseAside(): Promise<string> {
  return call(() => commands.moveDatabaseAside());
}
