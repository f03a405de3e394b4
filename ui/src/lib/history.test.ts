import { describe, expect, it } from 'vitest';
import { jobView } from '../test/fixtures';
import { filterHistory, historyAccounts, noFilter, resultOf } from './history';
import { modelFromList } from './progress';

const done = (id: number, over = {}) =>
  jobView(id, { state: 'done', finished_at: 1_700_000_100_000 + id, result: { id: `fid-${id}`, name: null, url: null }, ...over });

const { model } = modelFromList([
  done(1, { name: 'report.pdf', account: 'team', result: { id: null, name: null, url: 'https://files.test/r' } }),
  done(2, { name: 'song.wav', dest: 'music' }),
  jobView(3, { state: 'cancelled', name: 'big.iso', finished_at: 1 }),
  done(4, { name: 'notes.txt', account: 'team', result: { id: null, name: 'notes.txt', url: null } }),
]);
const ids = [4, 3, 2, 1];

describe('history', () => {
  it('shows the link, else the id or token, else the remote name; nothing for a cancelled job', () => {
    expect(resultOf(model.byId.get(1)!)).toEqual({ kind: 'url', value: 'https://files.test/r' });
    expect(resultOf(model.byId.get(2)!)).toEqual({ kind: 'id', value: 'fid-2' });
    expect(resultOf(model.byId.get(4)!)).toEqual({ kind: 'name', value: 'notes.txt' });
    expect(resultOf(model.byId.get(3)!)).toBeNull();
  });

  it('filters by outcome and account, and searches every word in name, folder, account and result', () => {
    expect(filterHistory(model, ids, noFilter)).toBe(ids);
    expect(filterHistory(model, ids, { ...noFilter, state: 'cancelled' })).toEqual([3]);
    expect(filterHistory(model, ids, { ...noFilter, state: 'done', account: 'team' })).toEqual([4, 1]);
    expect(filterHistory(model, ids, { ...noFilter, text: 'MUSIC' })).toEqual([2]);
    expect(filterHistory(model, ids, { ...noFilter, text: 'files.test' })).toEqual([1]);
    expect(filterHistory(model, ids, { ...noFilter, text: 'team notes' })).toEqual([4]);
    expect(filterHistory(model, ids, { ...noFilter, text: 'nothing-like-it' })).toEqual([]);
    expect(historyAccounts(model, ids)).toEqual(['team', 'voice']);
  });
});
