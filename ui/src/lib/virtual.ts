// Window math for long lists: which rows a scroll position shows, and where each row sits.
// Rows share one height; a few (the expanded ones) may be taller by an extra amount. Cost
// is O(number of taller rows), never O(rows), so 100,000 rows cost nothing to place.

export interface Layout {
  count: number;
  rowHeight: number;
  /** Extra height below some rows (expanded ones), by row index. */
  extra?: ReadonlyMap<number, number>;
}

export interface Range {
  /** First row to render. */
  start: number;
  /** One past the last row to render. */
  end: number;
}

function extras(layout: Layout): [number, number][] {
  if (!layout.extra || layout.extra.size === 0) return [];
  return [...layout.extra].filter(([i, px]) => i >= 0 && i < layout.count && px > 0).sort((a, b) => a[0] - b[0]);
}

/** The y of row `index`'s top edge. */
export function offsetOf(layout: Layout, index: number): number {
  let y = index * layout.rowHeight;
  for (const [i, px] of extras(layout)) {
    if (i >= index) break;
    y += px;
  }
  return y;
}

export function heightOf(layout: Layout, index: number): number {
  return layout.rowHeight + (layout.extra?.get(index) ?? 0);
}

export function totalHeight(layout: Layout): number {
  return layout.count * layout.rowHeight + extras(layout).reduce((sum, [, px]) => sum + px, 0);
}

/** The row under `y` (clamped to the list). */
export function indexAt(layout: Layout, y: number): number {
  const { count, rowHeight } = layout;
  if (count === 0) return 0;
  const clamp = (i: number) => Math.min(count - 1, Math.max(0, i));
  let before = 0;
  for (const [i, px] of extras(layout)) {
    const end = (i + 1) * rowHeight + before + px;
    if (y < end) return clamp(Math.min(i, Math.floor((y - before) / rowHeight)));
    before += px;
  }
  return clamp(Math.floor((y - before) / rowHeight));
}

/** The rows to render for a viewport, with `overscan` rows more on each side. */
export function visibleRange(layout: Layout, scrollTop: number, viewport: number, overscan = 4): Range {
  if (layout.count === 0) return { start: 0, end: 0 };
  const first = indexAt(layout, Math.max(0, scrollTop));
  const last = indexAt(layout, Math.max(0, scrollTop + Math.max(viewport, 1) - 1));
  return { start: Math.max(0, first - overscan), end: Math.min(layout.count, last + 1 + overscan) };
}

/** The scrollTop that brings row `index` fully into view, or null if it already is. */
export function revealTop(layout: Layout, index: number, scrollTop: number, viewport: number): number | null {
  const top = offsetOf(layout, index);
  const bottom = top + layout.rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewport) return bottom - viewport;
  return null;
}
