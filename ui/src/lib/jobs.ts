// The queue as the window knows it: the list once at start (page by page), then events.
// Progress events update rows in place; when details only the database has are needed (a
// result, an error, jobs queued or removed: `queueChanged`), the window asks for the jobs
// changed since the queue revision it last saw, never for the whole list again. Expanded
// jobs also get their part grid, loaded from the ledger and kept live.
import { get, writable } from 'svelte/store';
import * as api from './api';
import type { ControlReport, EngineStatus, JobControl, JobProgress, JobView, UiError } from './api';
import { BatchWatcher, type News } from './batch';
import { coalesced } from './coalesce';
import * as desktop from './desktop';
import { formatBytes } from './format';
import { countKey, lang, translate, type Translate } from './i18n';
import {
  applyProgress,
  cellsFromParts,
  countStates,
  emptyModel,
  isFinished,
  isMoving,
  mergeParts,
  mergeViews,
  removeJobs,
  ModelBuilder,
  pendingCount,
  type JobRow,
  type JobsModel,
  type PartCell,
  type StateCounts,
  type Transition,
} from './progress';

/** How long a job that just finished stays in the Queue (full bar, full grid) before only
 *  History lists it, so people see it complete. */
export const LINGER_MS = 5000;

export interface JobsSnapshot {
  /** False until the first list arrived. */
  loaded: boolean;
  model: JobsModel;
  /** Ids of unfinished jobs (and those that just finished), oldest first. */
  queue: number[];
  /** Ids of finished (done, cancelled) jobs, newest first. */
  history: number[];
  counts: StateCounts;
  /** Total speed of the moving jobs, bytes per second. */
  rate: number;
  /** The last failure to load the list. */
  error: UiError | null;
}

const initial = (): JobsSnapshot => ({
  loaded: false,
  model: emptyModel(),
  queue: [],
  history: [],
  counts: countStates(emptyModel()),
  rate: 0,
  error: null,
});

export const jobs = writable<JobsSnapshot>(initial());
export const engine = writable<EngineStatus>({ running: true, message: null });
/** Jobs whose part grid is open (kept across page changes). */
export const expanded = writable<ReadonlySet<number>>(new Set());
/** Part grids of the expanded jobs; `null` while loading. */
export const grids = writable<ReadonlyMap<number, PartCell[] | null>>(new Map());

let snap = initial();
let moving = new Set<number>();
let watcher = new BatchWatcher();
/** Jobs that just finished, until when they stay in the Queue (unix ms). */
let lingering = new Map<number, number>();
let lingerTimer: ReturnType<typeof setTimeout> | null = null;

function rowOf(id: number): JobRow | undefined {
  return snap.model.byId.get(id);
}

type Lists = Pick<JobsSnapshot, 'queue' | 'history' | 'counts'>;

/** Newest finished first. */
function sortHistory(model: JobsModel, history: number[]): number[] {
  const at = (id: number) => model.byId.get(id)?.finished_at ?? Number.MAX_SAFE_INTEGER;
  return history.sort((a, b) => at(b) - at(a) || b - a);
}

function lists(model: JobsModel): Lists {
  const queue: number[] = [];
  const history: number[] = [];
  for (const id of model.order) {
    const row = model.byId.get(id);
    if (!row) continue;
    const finished = isFinished(row.state);
    if (finished) history.push(id);
    if (!finished || lingering.has(id)) queue.push(id);
  }
  return { queue, history: sortHistory(model, history), counts: countStates(model) };
}

/** The lists of a first load, grown page by page instead of rebuilt from every job each
 *  time the window shows how far it got. */
class GrowingLists {
  private readonly queue: number[] = [];
  private readonly history: number[] = [];
  private readonly counts = countStates(emptyModel());

  add(views: readonly JobView[]) {
    for (const v of views) {
      (isFinished(v.state) ? this.history : this.queue).push(v.id);
      this.counts[v.state] += 1;
    }
  }

  /** Copies: what the views hold must not change under them. */
  lists(model: JobsModel): Lists {
    return { queue: this.queue.slice(), history: sortHistory(model, this.history.slice()), counts: { ...this.counts } };
  }
}

function totalRate(model: JobsModel): number {
  let sum = 0;
  for (const id of moving) sum += model.byId.get(id)?.rate ?? 0;
  return sum;
}

function track(ids: Iterable<number>) {
  for (const id of ids) {
    const row = rowOf(id);
    if (row && isMoving(row.state)) moving.add(id);
    else moving.delete(id);
  }
}

function expireLingering() {
  lingerTimer = null;
  const now = Date.now();
  let next = Infinity;
  for (const [id, until] of lingering) {
    if (until <= now) lingering.delete(id);
    else next = Math.min(next, until);
  }
  if (next !== Infinity) lingerTimer = setTimeout(expireLingering, next - now);
  publish('lists', []);
}

function linger(ids: number[]) {
  if (ids.length === 0) return;
  const until = Date.now() + LINGER_MS;
  for (const id of ids) lingering.set(id, until);
  lingerTimer ??= setTimeout(expireLingering, LINGER_MS);
}

/** What a change touched: only bytes and speeds, job states (the counts), or which jobs
 *  there are (the Queue and History lists, rebuilt from all jobs). */
type Shape = 'progress' | 'states' | 'lists';

/** Publishes the model after a change. A state change that finishes a job moves it to
 *  History; other state changes leave both lists as they are, so they cost no rebuild.
 *  `grown`: the lists are already known (a first load). */
function publish(shape: Shape, transitions: Transition[], grown?: Lists) {
  linger(transitions.filter((tr) => tr.to === 'done').map((tr) => tr.id));
  const moved = transitions.some((tr) => isFinished(tr.from) !== isFinished(tr.to));
  if (grown) {
    snap = { ...snap, ...grown };
  } else if (shape === 'lists' || moved) {
    snap = { ...snap, ...lists(snap.model) };
  } else if (shape === 'states' || transitions.length > 0) {
    snap = { ...snap, counts: countStates(snap.model) };
  }
  snap = { ...snap, rate: totalRate(snap.model) };
  jobs.set(snap);
  if (transitions.length > 0) {
    for (const news of watcher.observe(transitions, pendingCount(snap.counts))) void announce(news);
    const open = get(expanded);
    // The ledger changed under these (parts planned, released on pause); done is all acked.
    for (const tr of transitions) if (open.has(tr.id) && tr.to !== 'done') void loadGrid(tr.id);
  }
}

// ---- the list ----------------------------------------------------------------------------

/** Jobs per `listJobsPage` / `queueChanges` call: small replies, none a long task to parse. */
export const PAGE_SIZE = 1000;
/** The first page is smaller still: the first rows show sooner. */
export const FIRST_PAGE = 200;

/** Counts updates (progress events, synced changes); `touchedAt` has each job's latest. */
let seq = 0;
let touchedAt = new Map<number, number>();
const fresherThan = (since: number) => (id: number) => (touchedAt.get(id) ?? -1) > since;

/** The queue revision the model is in sync with; null until the whole list was read. */
let synced: number | null = null;

/** Reads the whole list, page by page (at start, and when too far behind to sync). */
async function listAll() {
  const since = seq;
  const initial = !snap.loaded;
  const builder = new ModelBuilder(initial ? undefined : snap.model);
  const grown = initial ? new GrowingLists() : null;
  try {
    const started = performance.now();
    // Noted first: whatever changes while the pages come is asked for after them.
    const rev = await api.queueRevision();
    let after = 0;
    for (let pages = 1; ; pages++) {
      const limit = pages === 1 ? FIRST_PAGE : PAGE_SIZE;
      const page = await api.listJobsPage(after, limit);
      if (initial && pages === 1) performance.measure('ferry:list-jobs-first-page', { start: started, end: performance.now() });
      builder.add(page);
      grown?.add(page);
      track(page.map((v) => v.id));
      // The first load shows its first page at once, then fills in.
      if (grown && (pages === 1 || pages % 20 === 0)) {
        snap = { ...snap, loaded: true, model: builder.model, error: null };
        publish('lists', [], seq === since ? grown.lists(builder.model) : undefined);
      }
      if (page.length < limit) break;
      after = page[page.length - 1].id;
    }
    // For the E2E measurement with 100,000 jobs (only the latest is kept).
    performance.clearMeasures('ferry:list-jobs');
    performance.measure('ferry:list-jobs', { start: started, end: performance.now() });
    const { model, transitions } = builder.finish(snap.model, fresherThan(since));
    snap = { ...snap, loaded: true, model, error: null };
    synced = rev;
    if (grown && seq === since) {
      // Nothing was known before a first load, and no event moved a job meanwhile: its
      // lists are complete as grown.
      publish('lists', transitions, grown.lists(model));
    } else {
      moving = new Set();
      track(model.order);
      publish('lists', transitions);
    }
  } catch (e) {
    snap = { ...snap, loaded: true, error: api.toUiError(e) };
    jobs.set(snap);
  }
}

/** Asks for what changed since the last revision seen, until nothing more is waiting. */
async function catchUp() {
  for (;;) {
    if (synced === null) {
      await listAll();
      if (synced === null) return; // the list failed; the next event tries again
    }
    const since = seq;
    const started = performance.now();
    let changes: api.QueueChanges;
    try {
      changes = await api.queueChanges(synced, PAGE_SIZE);
    } catch {
      return; // the next event tries again
    }
    if (changes.reset) {
      synced = null;
      continue;
    }
    const removed = removeJobs(snap.model, changes.removed);
    const { transitions, added } = mergeViews(snap.model, changes.jobs, fresherThan(since));
    seq += 1;
    for (const v of changes.jobs) touchedAt.set(v.id, seq);
    for (const id of changes.removed) touchedAt.delete(id);
    synced = changes.rev;
    track(changes.jobs.map((v) => v.id));
    for (const id of changes.removed) moving.delete(id);
    // A finished job's details (its time) order History.
    const finished = changes.jobs.some((v) => isFinished(v.state));
    const shape = added || removed || finished ? 'lists' : transitions.length > 0 ? 'states' : 'progress';
    if (changes.jobs.length + changes.removed.length > 0) publish(shape, transitions);
    // For the E2E measurement with 100,000 jobs (the last hundred are kept).
    if (performance.getEntriesByName('ferry:sync').length >= 100) performance.clearMeasures('ferry:sync');
    performance.measure('ferry:sync', { start: started, end: performance.now() });
    if (!changes.more) return;
  }
}

let syncOnce = coalesced(catchUp);

/**
 * Brings the model up to date with the queue: the whole list the first time, then only what
 * changed (a result, an error, jobs queued or removed). While a sync is out, further calls
 * make one more after it, never two at once.
 */
export function sync(): Promise<void> {
  return syncOnce();
}

/** Merges one progress event. */
export function onProgress(updates: JobProgress[]) {
  seq += 1;
  for (const u of updates) touchedAt.set(u.job, seq);
  const applied = applyProgress(snap.model, updates);
  track(applied.changed);
  publish(applied.transitions.length > 0 ? 'states' : 'progress', applied.transitions);
  const open = get(expanded);
  for (const u of updates) {
    if (!open.has(u.job)) continue;
    if (u.parts.length > 0) mergeGrid(u.job, u);
    if (u.state === 'done') completeGrid(u.job);
  }
  if (applied.fetch.length > 0) void sync();
}

// ---- part grids --------------------------------------------------------------------------

const gridLoads = new Map<number, Promise<void>>();
/** Part updates that arrived while a grid was loading, applied on top of the ledger. */
const buffered = new Map<number, JobProgress['parts'][]>();

function setGrid(id: number, cells: PartCell[] | null) {
  grids.update((g) => new Map(g).set(id, cells));
}

function mergeGrid(id: number, update: JobProgress) {
  if (gridLoads.has(id)) {
    buffered.get(id)?.push(update.parts);
    return;
  }
  const cells = get(grids).get(id);
  if (!cells) return;
  const merged = mergeParts(cells, update.parts);
  if (merged.cells !== cells) setGrid(id, merged.cells);
  if (merged.missing) void loadGrid(id);
}

/** A job is done only once every part is acknowledged. */
function completeGrid(id: number) {
  const cells = get(grids).get(id);
  if (!cells || gridLoads.has(id)) return;
  setGrid(id, cells.map((c) => (c.state === 'acked' ? c : { ...c, state: 'acked', sent: c.length })));
}

/** (Re)loads a job's part grid from the ledger. */
export function loadGrid(id: number): Promise<void> {
  const running = gridLoads.get(id);
  if (running) return running;
  buffered.set(id, []);
  if (!get(grids).has(id)) setGrid(id, null);
  const load = (async () => {
    try {
      let cells = cellsFromParts(await api.jobParts(id));
      for (const parts of buffered.get(id) ?? []) cells = mergeParts(cells, parts).cells;
      if (get(expanded).has(id)) setGrid(id, cells);
    } catch {
      if (get(expanded).has(id)) setGrid(id, []);
    } finally {
      gridLoads.delete(id);
      buffered.delete(id);
    }
  })();
  gridLoads.set(id, load);
  return load;
}

export function setExpanded(id: number, open: boolean) {
  const now = get(expanded);
  if (now.has(id) === open) return;
  const next = new Set(now);
  if (open) next.add(id);
  else next.delete(id);
  expanded.set(next);
  if (open) void loadGrid(id);
  else
    grids.update((g) => {
      const m = new Map(g);
      m.delete(id);
      return m;
    });
}

// ---- controls ----------------------------------------------------------------------------

/** Pauses, resumes (retries) or cancels, and shows the new states at once. */
export async function control(kind: JobControl, ids: number[] | null): Promise<ControlReport> {
  const report = await api.controlJobs(kind, ids);
  if (report.applied.length > 0) void sync();
  return report;
}

export function clearHistory(): Promise<number> {
  return api.clearHistory();
}

// ---- notifications -----------------------------------------------------------------------

export function newsNotice(t: Translate, news: News): desktop.Notice {
  if (news.kind === 'failed') {
    return { title: t('notify.failedTitle'), body: t('notify.failedBody', { name: news.name }) };
  }
  const body =
    news.failed > 0
      ? t(countKey('notify.finishedBodyFailed', news.done), { done: news.done, size: formatBytes(t, news.bytes), failed: news.failed })
      : t(countKey('notify.finishedBody', news.done), { done: news.done, size: formatBytes(t, news.bytes) });
  return { title: t('notify.finishedTitle'), body };
}

function announce(news: News) {
  const l = get(lang);
  return desktop.notify(newsNotice((key, params) => translate(l, key, params), news));
}

// ---- start -------------------------------------------------------------------------------

let started: Promise<() => void> | null = null;

/** Loads the list and listens to the engine; once per window. Resolves to a stop function. */
export function startJobs(): Promise<() => void> {
  started ??= (async () => {
    const stops = await Promise.all([
      api.onQueueProgress(onProgress),
      api.onQueueChanged(() => void sync()),
      api.onEngineStatus((s) => engine.set(s)),
    ]).catch(() => [] as (() => void)[]);
    api.engineStatus().then(
      (s) => engine.set(s),
      () => {},
    );
    await sync();
    return () => stops.forEach((stop) => stop());
  })();
  return started;
}

/** Forgets everything (tests). */
export function resetJobs() {
  snap = initial();
  moving = new Set();
  watcher = new BatchWatcher();
  lingering = new Map();
  if (lingerTimer) clearTimeout(lingerTimer);
  lingerTimer = null;
  started = null;
  syncOnce = coalesced(catchUp);
  synced = null;
  seq = 0;
  touchedAt = new Map();
  gridLoads.clear();
  buffered.clear();
  jobs.set(snap);
  engine.set({ running: true, message: null });
  expanded.set(new Set());
  grids.set(new Map());
}
