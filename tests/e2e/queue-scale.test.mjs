// The Queue with 100,000 queued jobs (inserted straight into SQLite): how long until the
// first rows show, and how smoothly the list scrolls. Another process holds the engine lock
// (as `ferry run` would), so the jobs stay queued while the window lists them.
// Measures and prints; the only assertions are that the list renders and stays virtual.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { startDriver, openApp, freshDataDir, find } from './harness.mjs';
import { ferry, until } from './support.mjs';

const JOBS = 100_000;
const dataDir = freshDataDir();
let driver;
let tauriDriver;
let lockHolder;

before(async () => {
  ferry(dataDir, ['account', 'add', 'archive', '--provider', 'local', '--set', `root=${path.join(dataDir, 'dest')}`]);
  const t0 = Date.now();
  const count = execFileSync('python3', [path.join(import.meta.dirname, 'fixtures/insert_jobs.py'), dataDir, 'archive', String(JOBS)], {
    encoding: 'utf8',
  }).trim();
  assert.equal(Number(count), JOBS);
  console.log(`# fixture: inserted ${JOBS} queued jobs in ${Date.now() - t0} ms`);
  lockHolder = spawn('python3', ['-c', 'import fcntl,sys; f=open(sys.argv[1],"w"); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); sys.stdin.read()', path.join(dataDir, 'engine.lock')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => lockHolder.stdout.once('data', resolve));
  tauriDriver = await startDriver({ FERRY_DATA_DIR: dataDir });
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  await tauriDriver?.stop();
  lockHolder?.stdin.end();
});

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: at(0.5), p95: at(0.95), max: s[s.length - 1] };
};
const ms = (x) => `${x.toFixed(1)} ms`;

test('the Queue opens on 100,000 jobs and scrolls, rendering only what is in view', async () => {
  const t0 = Date.now();
  driver = await openApp();
  const tWindow = Date.now() - t0;
  await driver.manage().setTimeouts({ implicit: 0, script: 120000 });
  await find(driver, 'job-row', 120000);
  const tRows = Date.now() - t0;
  const page = JSON.parse(
    await driver.executeScript(`return JSON.stringify({
      rows: performance.getEntriesByName('ferry:queue-rows')[0]?.startTime ?? null,
      list: performance.getEntriesByName('ferry:list-jobs').at(-1)?.duration ?? null,
      count: document.querySelector('[data-testid="queue-list"]').dataset.count,
      rendered: document.querySelectorAll('[data-testid="job-row"]').length,
      longtask: typeof PerformanceObserver !== 'undefined' && (PerformanceObserver.supportedEntryTypes ?? []).includes('longtask'),
    })`),
  );
  console.log(
    `# 100k open: window up after ${tWindow} ms, first rows after ${tRows} ms (from launching the app); ` +
      `in the page: first rows at ${ms(page.rows)} after navigation start, listJobs of ${page.count} jobs took ${ms(page.list)}; ` +
      `${page.rendered} rows in the DOM`,
  );
  assert.equal(page.count, String(JOBS));
  assert.ok(page.rendered < 60, `only the rows in view are rendered (${page.rendered})`);

  // Scroll as fast as a flung wheel, then jump to the middle and the end, one step a frame.
  const scroll = JSON.parse(
    await driver.executeAsyncScript(`
      const done = arguments[arguments.length - 1];
      const list = document.querySelector('[data-testid="queue-list"]');
      const longTasks = [];
      if (${page.longtask}) new PerformanceObserver((l) => longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
      const max = list.scrollHeight - list.clientHeight;
      const plan = [...Array.from({ length: 200 }, (_, i) => i * 2400), max / 2, max / 2 + 1200, max, max - 600, 0];
      const frames = [];
      const maxRendered = [];
      let last = performance.now();
      let i = 0;
      function tick(now) {
        frames.push(now - last);
        last = now;
        maxRendered.push(document.querySelectorAll('[data-testid="job-row"]').length);
        if (i < plan.length) {
          list.scrollTop = plan[i++];
          requestAnimationFrame(tick);
        } else {
          const ids = [...document.querySelectorAll('[data-testid="job-row"]')].map((r) => Number(r.dataset.id));
          done(JSON.stringify({ frames: frames.slice(1), rendered: Math.max(...maxRendered), firstId: Math.min(...ids), longTasks }));
        }
      }
      requestAnimationFrame(tick);
    `),
  );
  const f = stats(scroll.frames);
  const long = scroll.frames.filter((x) => x > 50).length;
  console.log(
    `# 100k scroll: ${f.n} frames, frame time mean ${ms(f.mean)}, p50 ${ms(f.p50)}, p95 ${ms(f.p95)}, max ${ms(f.max)}; ` +
      `${long} frames over 50 ms; at most ${scroll.rendered} rows in the DOM; ` +
      (page.longtask ? `${scroll.longTasks.length} long tasks` : 'Long Tasks API not available in WebKitGTK: frame times stand in'),
  );
  assert.ok(scroll.rendered < 60, `the list stays virtual while scrolling (${scroll.rendered} rows)`);
  assert.equal(scroll.firstId, 1, 'back at the top');

  // Leaving and coming back renders from the cached list: the view's own cost.
  await (await find(driver, 'nav-settings')).click();
  await find(driver, 'settings-form', 30000);
  const back = await driver.executeAsyncScript(`
    const done = arguments[arguments.length - 1];
    const t = performance.now();
    document.querySelector('[data-testid="nav-queue"]').click();
    (function wait() {
      if (document.querySelector('[data-testid="job-row"]')) requestAnimationFrame(() => done(performance.now() - t));
      else requestAnimationFrame(wait);
    })();
  `);
  console.log(`# 100k re-open: the Queue view showed its rows ${ms(back)} after the click`);

  // Expanding a row in the middle places the rows below it correctly.
  await driver.executeScript(`const l = document.querySelector('[data-testid="queue-list"]'); l.scrollTop = l.scrollHeight / 2;`);
  const mid = await until('rows in the middle', async () => {
    const rows = await driver.findElements({ css: '[data-testid="job-row"]' });
    return rows.length > 10 ? rows[5] : null;
  });
  await (await mid.findElement({ css: '[data-testid="job-expand"]' })).click();
  await find(driver, 'part-grid-empty');
  const overlap = await driver.executeScript(`
    const rows = [...document.querySelectorAll('[data-testid="job-row"]')].map((r) => r.getBoundingClientRect()).sort((a, b) => a.top - b.top);
    return rows.some((r, i) => i > 0 && r.top < rows[i - 1].bottom - 1);
  `);
  assert.equal(overlap, false, 'rows never overlap around an expanded one');
});
