import { describe, expect, it } from 'vitest';
import { BatchWatcher } from './batch';
import type { Transition } from './progress';

const tr = (id: number, to: Transition['to'], from: Transition['from'] = 'uploading', size = 100): Transition => ({
  id,
  name: `f${id}`,
  size,
  from,
  to,
});

describe('batch notifications', () => {
  it('announces a failure at once and the batch when nothing is left to upload', () => {
    const w = new BatchWatcher();
    expect(w.observe([tr(1, 'done')], 2)).toEqual([]);
    expect(w.observe([tr(2, 'failed')], 1)).toEqual([{ kind: 'failed', id: 2, name: 'f2' }]);
    expect(w.observe([tr(3, 'done', 'committing', 50)], 0)).toEqual([
      { kind: 'finished', done: 2, failed: 1, bytes: 150 },
    ]);
    // The next batch starts from zero.
    expect(w.observe([tr(4, 'done')], 0)).toEqual([{ kind: 'finished', done: 1, failed: 0, bytes: 100 }]);
  });

  it('says nothing when nothing finished, and nothing but the failure when all failed', () => {
    const w = new BatchWatcher();
    expect(w.observe([tr(1, 'uploading', 'queued')], 1)).toEqual([]);
    expect(w.observe([tr(1, 'paused')], 0)).toEqual([]);
    expect(w.observe([tr(1, 'failed')], 0)).toEqual([{ kind: 'failed', id: 1, name: 'f1' }]);
  });
});
