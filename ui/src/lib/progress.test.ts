import { describe, expect, it } from 'vitest';
import { jobView } from '../test/fixtures';
import type { JobProgress, PartProgress } from './api';
import {
  applyProgress,
  cellBackground,
  cellFill,
  cellsFromParts,
  countParts,
  countStates,
  mergeParts,
  mergeViews,
  ModelBuilder,
  modelFromList,
  pendingCount,
  PART_COLOURS,
  type PartCell,
} from './progress';

const MiB = 1024 * 1024;

function progress(job: number, over: Partial<JobProgress> = {}): JobProgress {
  return { job, state: 'uploading', size: 40 * MiB, bytes: 0, bytes_acked: 0, rate: 0, parts: [], ...over };
}

describe('progress reducer', () => {
  it('merges bytes, speed and state into the row and returns a new row object', () => {
    const { model } = modelFromList([jobView(1), jobView(2)]);
    const before = model.byId.get(1);
    const untouched = model.byId.get(2);
    const applied = applyProgress(model, [
      progress(1, { bytes: 12 * MiB, bytes_acked: 10 * MiB, rate: 2 * MiB }),
    ]);
    const row = model.byId.get(1)!;
    expect(row).not.toBe(before);
    expect(row).toMatchObject({ state: 'uploading', bytes: 12 * MiB, bytes_acked: 10 * MiB, rate: 2 * MiB });
    expect(model.byId.get(2)).toBe(untouched);
    expect(applied.changed).toEqual([1]);
    expect(applied.transitions).toEqual([{ id: 1, name: 'file-1.bin', size: 40 * MiB, from: 'queued', to: 'uploading' }]);
    expect(applied.fetch).toEqual([]); // uploading needs nothing only the list has
  });

  it('asks to fetch a job it does not know, or one now in a state with details', () => {
    const { model } = modelFromList([jobView(1, { state: 'uploading' })]);
    expect(applyProgress(model, [progress(7)]).fetch).toEqual([7]);
    expect(applyProgress(model, [progress(1, { bytes: 5 })]).fetch).toEqual([]);
    const done = applyProgress(model, [progress(1, { state: 'done', bytes: 3, bytes_acked: 3 })]);
    expect(done.fetch).toEqual([1]); // the result is in the list only
    // Done counts every byte, whatever the last update said, and nothing moves.
    expect(model.byId.get(1)).toMatchObject({ bytes: 40 * MiB, bytes_acked: 40 * MiB, rate: 0 });
  });

  it('keeps in-flight bytes and speed of moving jobs when the list is fetched again', () => {
    const first = modelFromList([jobView(1, { state: 'uploading', bytes_acked: 5 * MiB })]).model;
    applyProgress(first, [progress(1, { bytes: 8 * MiB, bytes_acked: 5 * MiB, rate: 3 * MiB })]);
    const { model, transitions } = modelFromList([jobView(1, { state: 'uploading', bytes_acked: 5 * MiB })], first);
    expect(model.byId.get(1)).toMatchObject({ bytes: 8 * MiB, rate: 3 * MiB });
    expect(transitions).toEqual([]);
    // A state change seen only in the list is a transition, and a paused job stands still.
    const paused = modelFromList([jobView(1, { state: 'paused', bytes_acked: 5 * MiB })], model);
    expect(paused.model.byId.get(1)).toMatchObject({ bytes: 5 * MiB, rate: 0 });
    expect(paused.transitions.map((tr) => [tr.from, tr.to])).toEqual([['uploading', 'paused']]);
  });

  it('prefers the events over a list fetched before them', () => {
    const first = modelFromList([jobView(1, { state: 'uploading' })]).model;
    applyProgress(first, [progress(1, { state: 'done' })]);
    const { model, transitions } = modelFromList([jobView(1, { state: 'uploading', result: null })], first, (id) => id === 1);
    expect(model.byId.get(1)?.state).toBe('done');
    expect(transitions).toEqual([]);
  });

  it('builds a list page by page', () => {
    const prev = modelFromList([jobView(1, { state: 'uploading' }), jobView(2)]).model;
    const b = new ModelBuilder(prev);
    b.add([jobView(1, { state: 'paused' })]);
    b.add([jobView(2), jobView(3)]);
    const { model, transitions } = b.finish(prev, () => false);
    expect(model.order).toEqual([1, 2, 3]);
    expect(transitions.map((tr) => [tr.id, tr.from, tr.to])).toEqual([[1, 'uploading', 'paused']]);
  });

  it('merges fetched jobs: details of known ones, new ones in id order', () => {
    const { model } = modelFromList([jobView(2, { state: 'uploading' }), jobView(5)]);
    const url = 'https://x.test/2';
    const merged = mergeViews(model, [
      jobView(2, { state: 'done', result: { id: null, name: null, url } }),
      jobView(9),
      jobView(3),
    ]);
    expect(merged.added).toBe(true);
    expect(merged.transitions.map((tr) => [tr.id, tr.to])).toEqual([[2, 'done']]);
    expect(model.order).toEqual([2, 3, 5, 9]);
    expect(model.byId.get(2)).toMatchObject({ state: 'done', bytes: 40 * MiB, result: { url } });
    // A job whose events are newer than the fetch keeps its live state.
    applyProgress(model, [progress(5, { state: 'uploading', bytes: 7 })]);
    const stale = mergeViews(model, [jobView(5, { state: 'queued', error: 'e' })], (id) => id === 5);
    expect(stale.transitions).toEqual([]);
    expect(model.byId.get(5)).toMatchObject({ state: 'uploading', bytes: 7, error: 'e' });
  });

  it('counts states and what is still to upload', () => {
    const { model } = modelFromList([
      jobView(1, { state: 'uploading' }),
      jobView(2),
      jobView(3, { state: 'paused' }),
      jobView(4, { state: 'done' }),
      jobView(5, { state: 'failed' }),
    ]);
    const counts = countStates(model);
    expect(counts).toMatchObject({ uploading: 1, queued: 1, paused: 1, done: 1, failed: 1, cancelled: 0 });
    expect(pendingCount(counts)).toBe(2);
  });
});

describe('part grid', () => {
  const ledger = cellsFromParts([
    { number: 2, offset: 5, length: 5, state: 'pending', attempts: 0 },
    { number: 1, offset: 0, length: 5, state: 'acked', attempts: 1 },
    { number: 3, offset: 10, length: 2, state: 'in_flight', attempts: 1 },
  ]);
  const part = (number: number, state: PartProgress['state'], sent: number, length: number): PartProgress => ({
    number,
    state,
    sent,
    length,
  });

  it('starts from the ledger, in part order', () => {
    expect(ledger.map((c) => [c.number, c.state, c.sent])).toEqual([
      [1, 'acked', 5],
      [2, 'pending', 0],
      [3, 'in_flight', 0],
    ]);
  });

  it('merges part updates, replacing only the cells that changed', () => {
    const { cells, missing } = mergeParts(ledger, [part(2, 'in_flight', 3, 5), part(3, 'acked', 2, 2)]);
    expect(missing).toBe(false);
    expect(cells).not.toBe(ledger);
    expect(cells[0]).toBe(ledger[0]);
    expect(cells[1]).toEqual({ number: 2, state: 'in_flight', sent: 3, length: 5 });
    expect(cells[2]).toEqual({ number: 3, state: 'acked', sent: 2, length: 2 });
    expect(countParts(cells)).toEqual({ pending: 0, in_flight: 1, retrying: 0, acked: 2 });
  });

  it('keeps the length of a retrying part (its update carries none) and returns the same grid when nothing changed', () => {
    const { cells } = mergeParts(ledger, [part(2, 'retrying', 0, 0)]);
    expect(cells[1]).toEqual({ number: 2, state: 'retrying', sent: 0, length: 5 });
    expect(mergeParts(cells, [part(2, 'retrying', 0, 0)]).cells).toBe(cells);
  });

  it('says when an update names a part it does not have', () => {
    expect(mergeParts([], [part(1, 'in_flight', 1, 5)]).missing).toBe(true);
    expect(mergeParts(ledger, [part(9, 'acked', 5, 5)]).missing).toBe(true);
  });

  it('colours each state and fills an in-flight cell as it is sent', () => {
    const cell = (state: PartCell['state'], sent = 0): PartCell => ({ number: 1, state, sent, length: 4 });
    expect(cellBackground(cell('pending'))).toBe('var(--part-pending)');
    expect(cellBackground(cell('acked'))).toBe('var(--part-acked)');
    expect(cellBackground(cell('retrying'))).toBe('var(--part-retrying)');
    expect(cellBackground(cell('in_flight', 1))).toBe(
      'linear-gradient(to top, var(--part-in-flight) 25%, var(--part-in-flight-soft) 25%)',
    );
    expect(cellFill(cell('in_flight', 9))).toBe(1);
    expect(cellFill(cell('pending', 3))).toBe(0);
    expect(new Set(Object.values(PART_COLOURS)).size).toBe(4);
  });
});
