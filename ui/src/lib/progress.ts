// Pure logic that turns the engine's data into what the views show: job rows merged with
// progress events, and part grids merged with part updates. No I/O here (see jobs.ts).
import type { JobProgress, JobState, JobView, PartLive, PartProgress, PartView } from './api';

/** A job as listed, plus what only progress events tell: in-flight bytes and speed. */
export type JobRow = JobView & {
  /** Acknowledged plus in-flight bytes. */
  bytes: number;
  /** Smoothed bytes per second; 0 when not moving. */
  rate: number;
};

/** Still to be uploaded: the batch is not over while any job is in one of these. */
export const PENDING_STATES: readonly JobState[] = ['queued', 'hashing', 'uploading', 'committing'];
/** Working right now. */
export const MOVING_STATES: readonly JobState[] = ['hashing', 'uploading', 'committing'];
/** History, not queue. */
export const FINISHED_STATES: readonly JobState[] = ['done', 'cancelled'];

export const isPending = (s: JobState) => PENDING_STATES.includes(s);
export const isMoving = (s: JobState) => MOVING_STATES.includes(s);
export const isFinished = (s: JobState) => FINISHED_STATES.includes(s);

export interface Transition {
  id: number;
  name: string;
  size: number;
  from: JobState;
  to: JobState;
}

/** Every job by id, in the order `listJobs` gave (oldest first). */
export interface JobsModel {
  byId: Map<number, JobRow>;
  order: number[];
}

export const emptyModel = (): JobsModel => ({ byId: new Map(), order: [] });

/** Copies what only progress events know (state, bytes, speed) from `live` onto `row`. */
function keepLive(row: JobView, live: JobRow): JobRow {
  const { state, size, bytes, bytes_acked, rate } = live;
  return { ...row, state, size, bytes, bytes_acked, rate };
}

/**
 * A job as listed, given its previous row. A job that is still moving keeps the in-flight
 * bytes and speed the events gave it (the list only knows acknowledged bytes), so bars never
 * jump back.
 */
function rowFrom(v: JobView, old: JobRow | undefined): JobRow {
  const keep = old !== undefined && old.state === v.state && isMoving(v.state);
  const bytes = v.state === 'done' ? v.size : keep ? Math.max(v.bytes_acked, old.bytes) : v.bytes_acked;
  // `v` is a fresh reply from Rust that the model owns from here: it becomes the row in
  // place (a copy of each of 100,000 jobs would only be garbage for the collector).
  const row = v as JobRow;
  row.bytes = bytes;
  row.rate = keep ? old.rate : 0;
  return row;
}

const transition = (v: JobView, from: JobState): Transition => ({ id: v.id, name: v.name, size: v.size, from, to: v.state });

/**
 * Builds the model of a fresh list page by page (the window never asks for 100,000 jobs at
 * once). `prev` is the model the list replaces; `finish` then keeps the rows of the jobs that
 * events or single fetches updated while the pages were on their way.
 */
export class ModelBuilder {
  readonly model: JobsModel = emptyModel();
  private readonly transitions: Transition[] = [];

  constructor(private readonly prev?: JobsModel) {}

  add(views: readonly JobView[]): void {
    const { byId, order } = this.model;
    for (const v of views) {
      const old = this.prev?.byId.get(v.id);
      if (!byId.has(v.id)) order.push(v.id);
      byId.set(v.id, rowFrom(v, old));
      if (old && old.state !== v.state) this.transitions.push(transition(v, old.state));
    }
  }

  /** `current` is the model that events and single fetches updated meanwhile; `fresher(id)`:
   *  such an update came after the pages were asked for, so its row is the newer one. */
  finish(current: JobsModel, fresher: (id: number) => boolean): { model: JobsModel; transitions: Transition[] } {
    if (current === this.model) return { model: this.model, transitions: this.transitions };
    for (const id of this.model.byId.keys()) {
      const live = current.byId.get(id);
      if (live && fresher(id)) this.model.byId.set(id, live);
    }
    return { model: this.model, transitions: this.transitions.filter((tr) => !fresher(tr.id)) };
  }
}

/** The model for a whole list at once. */
export function modelFromList(
  views: JobView[],
  prev?: JobsModel,
  fresher: (id: number) => boolean = () => false,
): { model: JobsModel; transitions: Transition[] } {
  const b = new ModelBuilder(prev);
  b.add(views);
  return b.finish(prev ?? emptyModel(), fresher);
}

/**
 * Merges a few fetched jobs (their result or error, or jobs just queued) into the model, in
 * place. New jobs join in id order. Returns the state changes, and whether jobs were added.
 */
export function mergeViews(
  model: JobsModel,
  views: readonly JobView[],
  fresher: (id: number) => boolean = () => false,
): { transitions: Transition[]; added: boolean } {
  const transitions: Transition[] = [];
  let added = false;
  for (const v of views) {
    const old = model.byId.get(v.id);
    if (old && fresher(v.id)) {
      model.byId.set(v.id, keepLive(v, old));
      continue;
    }
    model.byId.set(v.id, rowFrom(v, old));
    if (old) {
      if (old.state !== v.state) transitions.push(transition(v, old.state));
      continue;
    }
    added = true;
    const { order } = model;
    if (order.length === 0 || order[order.length - 1] < v.id) order.push(v.id);
    else {
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (order[mid] < v.id) lo = mid + 1;
        else hi = mid;
      }
      order.splice(lo, 0, v.id);
    }
  }
  return { transitions, added };
}

/** Removes jobs from the model, in place; whether any was there. */
export function removeJobs(model: JobsModel, ids: readonly number[]): boolean {
  const gone = new Set(ids.filter((id) => model.byId.delete(id)));
  if (gone.size === 0) return false;
  model.order = model.order.filter((id) => !gone.has(id));
  return true;
}

export interface Applied {
  /** Ids whose row changed. */
  changed: number[];
  transitions: Transition[];
  /** Jobs to fetch: unknown ones, and those now in a state whose details (result, error,
   *  retry time) only the list carries. */
  fetch: number[];
}

/** States whose details only the list has (the result, the error, the retry time). */
const DETAILED: readonly JobState[] = ['done', 'failed', 'queued', 'paused', 'cancelled'];

/** Merges coalesced progress into the model (in place; each changed row is a new object). */
export function applyProgress(model: JobsModel, updates: JobProgress[]): Applied {
  const applied: Applied = { changed: [], transitions: [], fetch: [] };
  for (const u of updates) {
    const row = model.byId.get(u.job);
    if (!row) {
      applied.fetch.push(u.job);
      continue;
    }
    const done = u.state === 'done';
    const next: JobRow = {
      ...row,
      state: u.state,
      size: u.size,
      bytes: done ? u.size : u.bytes,
      bytes_acked: done ? u.size : u.bytes_acked,
      rate: isMoving(u.state) ? u.rate : 0,
    };
    model.byId.set(u.job, next);
    applied.changed.push(u.job);
    if (row.state !== u.state) {
      applied.transitions.push({ id: u.job, name: row.name, size: u.size, from: row.state, to: u.state });
      if (DETAILED.includes(u.state)) applied.fetch.push(u.job);
    }
  }
  return applied;
}

export type StateCounts = Record<JobState, number>;

export function countStates(model: JobsModel): StateCounts {
  const counts: StateCounts = {
    queued: 0, hashing: 0, uploading: 0, committing: 0, done: 0, paused: 0, failed: 0, cancelled: 0,
  };
  for (const row of model.byId.values()) counts[row.state] += 1;
  return counts;
}

export const pendingCount = (c: StateCounts) => PENDING_STATES.reduce((n, s) => n + c[s], 0);

// ---- part grid ---------------------------------------------------------------------------

export interface PartCell {
  number: number;
  state: PartLive;
  /** Bytes sent in the current attempt (the length once acknowledged). */
  sent: number;
  length: number;
}

/** The grid as the ledger has it. */
export function cellsFromParts(parts: PartView[]): PartCell[] {
  return [...parts]
    .sort((a, b) => a.number - b.number)
    .map((p) => ({ number: p.number, state: p.state, sent: p.state === 'acked' ? p.length : 0, length: p.length }));
}

/**
 * Merges a job's part updates into its grid. Returns the same array when nothing changed,
 * and `missing` when an update names a part the grid does not have (reload it).
 */
export function mergeParts(cells: PartCell[], updates: PartProgress[]): { cells: PartCell[]; missing: boolean } {
  let out = cells;
  let missing = false;
  for (const u of updates) {
    const i = u.number - 1;
    const cell = cells[i];
    if (!cell || cell.number !== u.number) {
      missing = true;
      continue;
    }
    const length = u.length > 0 ? u.length : cell.length; // a retry update carries no length
    const sent = u.state === 'acked' ? length : u.state === 'in_flight' ? Math.min(u.sent, length) : 0;
    if (cell.state === u.state && cell.sent === sent && cell.length === length) continue;
    if (out === cells) out = cells.slice();
    out[i] = { number: u.number, state: u.state, sent, length };
  }
  return { cells: out, missing };
}

export type PartCounts = Record<PartLive, number>;

export function countParts(cells: readonly PartCell[]): PartCounts {
  const counts: PartCounts = { pending: 0, in_flight: 0, retrying: 0, acked: 0 };
  for (const c of cells) counts[c.state] += 1;
  return counts;
}

/** How much of an in-flight part has gone, 0…1, for its cell's shading. */
export function cellFill(cell: PartCell): number {
  if (cell.state === 'acked') return 1;
  if (cell.state !== 'in_flight' || cell.length <= 0) return 0;
  return Math.min(1, cell.sent / cell.length);
}

/** The colour (a CSS custom property of app.css) of each part state. */
export const PART_COLOURS: Record<PartLive, string> = {
  pending: 'var(--part-pending)',
  in_flight: 'var(--part-in-flight)',
  retrying: 'var(--part-retrying)',
  acked: 'var(--part-acked)',
};

/** A cell's CSS background: its state's colour; an in-flight cell fills up as it is sent. */
export function cellBackground(cell: PartCell): string {
  if (cell.state !== 'in_flight') return PART_COLOURS[cell.state];
  const pct = Math.round(cellFill(cell) * 100);
  return `linear-gradient(to top, var(--part-in-flight) ${pct}%, var(--part-in-flight-soft) ${pct}%)`;
}
