import { describe, expect, it } from 'vitest';
import { heightOf, indexAt, offsetOf, revealTop, totalHeight, visibleRange, type Layout } from './virtual';

const flat: Layout = { count: 100_000, rowHeight: 50 };
// Rows 3 and 10 are expanded by 100 and 30 px.
const tall: Layout = { count: 20, rowHeight: 50, extra: new Map([[10, 30], [3, 100]]) };

describe('virtual list window math', () => {
  it('places equal rows by multiplication', () => {
    expect(offsetOf(flat, 0)).toBe(0);
    expect(offsetOf(flat, 99_999)).toBe(4_999_950);
    expect(totalHeight(flat)).toBe(5_000_000);
    expect(indexAt(flat, 0)).toBe(0);
    expect(indexAt(flat, 49)).toBe(0);
    expect(indexAt(flat, 50)).toBe(1);
    expect(indexAt(flat, 10_000_000)).toBe(99_999);
    expect(indexAt(flat, -5)).toBe(0);
  });

  it('renders only the rows in view plus the overscan', () => {
    expect(visibleRange(flat, 0, 600, 4)).toEqual({ start: 0, end: 16 });
    expect(visibleRange(flat, 2_500_000, 600, 4)).toEqual({ start: 49_996, end: 50_016 });
    // The end of the list: never past the last row.
    expect(visibleRange(flat, 4_999_400, 600, 4)).toEqual({ start: 99_984, end: 100_000 });
    expect(visibleRange({ count: 0, rowHeight: 50 }, 0, 600)).toEqual({ start: 0, end: 0 });
    expect(visibleRange({ count: 3, rowHeight: 50 }, 0, 600, 4)).toEqual({ start: 0, end: 3 });
  });

  it('shifts the rows below an expanded one by its extra height', () => {
    expect(heightOf(tall, 3)).toBe(150);
    expect(offsetOf(tall, 3)).toBe(150);
    expect(offsetOf(tall, 4)).toBe(300); // 4·50 + 100
    expect(offsetOf(tall, 11)).toBe(680); // 11·50 + 100 + 30
    expect(totalHeight(tall)).toBe(1130);
  });

  it('finds the row under a point inside an expanded row and after it', () => {
    expect(indexAt(tall, 149)).toBe(2);
    expect(indexAt(tall, 150)).toBe(3);
    expect(indexAt(tall, 299)).toBe(3); // the expanded part of row 3
    expect(indexAt(tall, 300)).toBe(4);
    expect(indexAt(tall, 629)).toBe(10);
    expect(indexAt(tall, 679)).toBe(10);
    expect(indexAt(tall, 680)).toBe(11);
    for (let i = 0; i < tall.count; i++) {
      expect(indexAt(tall, offsetOf(tall, i))).toBe(i);
      expect(indexAt(tall, offsetOf(tall, i) + heightOf(tall, i) - 1)).toBe(i);
    }
  });

  it('ignores extras for rows that are gone (the list shrank)', () => {
    const shrunk: Layout = { count: 5, rowHeight: 50, extra: new Map([[3, 100], [10, 30]]) };
    expect(totalHeight(shrunk)).toBe(350);
  });

  it('scrolls just enough to reveal a row', () => {
    expect(revealTop(flat, 5, 0, 600)).toBeNull();
    expect(revealTop(flat, 20, 0, 600)).toBe(450);
    expect(revealTop(flat, 2, 500, 600)).toBe(100);
  });

  it('places 100,000 rows with an expanded one in the middle', () => {
    const many: Layout = { count: 100_000, rowHeight: 54, extra: new Map([[50_000, 200]]) };
    let sum = 0;
    for (let y = 0; y < 5_400_000; y += 54_000) sum += visibleRange(many, y, 700).end;
    expect(sum).toBeGreaterThan(0);
    expect(indexAt(many, offsetOf(many, 50_001))).toBe(50_001);
  });
});
