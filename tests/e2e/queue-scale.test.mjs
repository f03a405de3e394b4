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
  await until('the whole list loaded', () => driver.executeScript(`return performance.getEntriesByName('ferry:list-jobs').length > 0`), 120000);
  const tAll = Date.now() - t0;
  const page = JSON.parse(
    await driver.executeScript(`return JSON.stringify({
      rows: performance.getEntriesByName('ferry:queue-rows')[0]?.startTime ?? null,
      first: performance.getEntriesByName('ferry:list-jobs-first-page')[0]?.duration ?? null,
      list: performance.getEntriesByName('ferry:list-jobs').at(-1)?.duration ?? null,
      count: document.querySelector('[data-testid="queue-list"]').dataset.count,
      rendered: document.querySelectorAll('[data-testid="job-row"]').length,
      longtask: typeof PerformanceObserver !== 'undefined' && (PerformanceObserver.supportedEntryTypes ?? []).includes('longtask'),
    })`),
  );
  console.log(
    `# 100k open: window up after ${tWindow} ms, first rows after ${tRows} ms, all ${page.count} jobs loaded after ${tAll} ms ` +
      `(from launching the app); in the page: first rows at ${ms(page.rows)} after navigation start, the first page of jobs ` +
      `took ${ms(page.first)}, all pages ${ms(page.list)}; ${page.rendered} rows in the DOM`,
  );
  assert.equal(page.count, String(JOBS));
  assert.ok(page.rendered < 60, `only the rows in view are rendered (${page.rendered})`);

  // Scroll: a still list first (what a frame costs here at all), then a fast wheel (120 px
  // a frame), a fling (2,400 px a frame: every row new each frame), then jumps to the middle,
  // the end and back to the top; one step a frame. Each frame is timed, and so is the work
  // a scroll causes (from the scroll event to the next task: the list's update, done).
  const scrollScript = (selector) => `
      const done = arguments[arguments.length - 1];
      const list = document.querySelector(${JSON.stringify(selector)});
      const max = list.scrollHeight - list.clientHeight;
      const phases = [
        ['still', Array.from({ length: 30 }, () => null)],
        ['wheel', Array.from({ length: 120 }, (_, i) => (i + 1) * 120)],
        ['fling', Array.from({ length: 80 }, (_, i) => 14400 + (i + 1) * 2400)],
        ['jumps', [max / 2, max / 2 + 1200, max, max - 600, 0]],
      ];
      const steps = phases.flatMap(([name, tops]) => tops.map((top) => [name, top]));
      const frames = {};
      const work = [];
      list.addEventListener('scroll', () => {
        const t = performance.now();
        setTimeout(() => work.push(performance.now() - t), 0);
      });
      let rendered = 0;
      let last = performance.now();
      let i = 0;
      function tick(now) {
        if (i > 0) (frames[steps[i - 1][0]] ??= []).push(now - last);
        last = now;
        rendered = Math.max(rendered, list.querySelectorAll('[role="listitem"]').length);
        if (i < steps.length) {
          const top = steps[i++][1];
          if (top !== null) list.scrollTop = top;
          requestAnimationFrame(tick);
        } else {
          const ids = [...list.querySelectorAll('[data-testid="job-row"]')].map((r) => Number(r.dataset.id));
          done(JSON.stringify({ frames, work, rendered, firstId: Math.min(...ids) }));
        }
      }
      requestAnimationFrame(tick);`;
  const scroll = JSON.parse(await driver.executeAsyncScript(scrollScript('[data-testid="queue-list"]')));
  // The same steps on a bare list of 24 plain divs: what scrolling costs on this machine's
  // software-rendered display whatever the page does.
  await driver.executeScript(`
    const v = document.createElement('div');
    v.id = 'bare-list';
    v.style.cssText = 'position:fixed;left:220px;top:100px;width:800px;height:560px;overflow-y:auto;background:#fff;z-index:999';
    const spacer = document.createElement('div');
    spacer.style.cssText = 'position:relative;height:${JOBS * 54}px';
    v.append(spacer);
    document.body.append(v);
    const draw = () => {
      const first = Math.floor(v.scrollTop / 54);
      spacer.textContent = '';
      for (let k = Math.max(0, first - 6); k < first + 18; k++) {
        const r = document.createElement('div');
        r.setAttribute('role', 'listitem');
        r.style.cssText = 'position:absolute;left:0;right:0;height:54px;transform:translateY(' + k * 54 + 'px)';
        r.textContent = 'recording-' + k + '.wav  40 MiB  archive  Waiting';
        spacer.append(r);
      }
    };
    v.addEventListener('scroll', draw);
    draw();
  `);
  const bare = JSON.parse(await driver.executeAsyncScript(scrollScript('#bare-list')));
  await driver.executeScript(`document.getElementById('bare-list').remove()`);
  for (const [phase, frames] of Object.entries(scroll.frames)) {
    const f = stats(frames);
    const b = stats(bare.frames[phase]);
    console.log(
      `# 100k scroll, ${phase}: ${f.n} frames, frame time mean ${ms(f.mean)}, p50 ${ms(f.p50)}, p95 ${ms(f.p95)}, max ${ms(f.max)} ` +
        `(${frames.filter((x) => x > 50).length} over 50 ms); a bare 24-div list here: mean ${ms(b.mean)}, p95 ${ms(b.p95)}, max ${ms(b.max)}`,
    );
  }
  const w = stats(scroll.work);
  const bw = stats(bare.work);
  console.log(
    `# 100k scroll: the work one scroll causes (event → list updated): mean ${ms(w.mean)}, p95 ${ms(w.p95)}, max ${ms(w.max)} ` +
      `over ${w.n} scrolls (bare list: mean ${ms(bw.mean)}, max ${ms(bw.max)}); at most ${scroll.rendered} rows in the DOM; ` +
      (page.longtask ? 'Long Tasks API available' : 'the Long Tasks API is not in WebKitGTK: these times stand in for it'),
  );
  assert.ok(scroll.rendered < 60, `the list stays virtual while scrolling (${scroll.rendered} rows)`);
  assert.equal(scroll.firstId, 1, 'back at the top');

  // Pausing one job: its row changes at once (that job alone is fetched), while the whole
  // list reloads in the background, page by page, frames still flowing.
  const reload = JSON.parse(
    await driver.executeAsyncScript(`
      const done = arguments[arguments.length - 1];
      const before = performance.getEntriesByName('ferry:list-jobs')[0].startTime;
      const row = document.querySelector('[data-testid="job-row"]');
      const id = row.dataset.id;
      const gaps = [];
      const t0 = performance.now();
      let last = t0;
      let paused = null;
      row.querySelector('[data-testid="job-pause"]').click();
      function tick(now) {
        gaps.push(now - last);
        last = now;
        if (paused === null && document.querySelector('[data-testid="job-row"][data-id="' + id + '"]')?.dataset.state === 'paused') paused = now - t0;
        const m = performance.getEntriesByName('ferry:list-jobs')[0];
        if (m && m.startTime !== before && paused !== null) done(JSON.stringify({ paused, reload: m.duration, gaps }));
        else if (now - t0 > 110000) done(JSON.stringify({ paused, reload: null, gaps }));
        else requestAnimationFrame(tick);
      }
      requestAnimationFrame(tick);
    `),
  );
  const g = stats(reload.gaps);
  console.log(
    `# 100k pause one job: its row showed "paused" after ${ms(reload.paused)}; the whole list reloaded in the background in ` +
      `${reload.reload === null ? 'more than 110 s' : ms(reload.reload)}; frames meanwhile: mean ${ms(g.mean)}, p95 ${ms(g.p95)}, max ${ms(g.max)}, ` +
      `${reload.gaps.filter((x) => x > 50).length} of ${g.n} over 50 ms`,
  );
  assert.notEqual(reload.paused, null, 'the paused state shows');

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
  const midId = await until('rows in the middle', async () => {
    const ids = await driver.executeScript(
      `return [...document.querySelectorAll('[data-testid="job-row"]')].map((r) => Number(r.dataset.id)).sort((a, b) => a - b);`,
    );
    return ids.length > 10 && ids[0] > 40000 ? ids[5] : null;
  });
  await (await find(driver, 'job-row')).getAttribute('data-id'); // the page answers
  await driver.findElement({ css: `[data-testid="job-row"][data-id="${midId}"] [data-testid="job-expand"]` }).click();
  await find(driver, 'part-grid-empty');
  const overlap = await driver.executeScript(`
    const rows = [...document.querySelectorAll('[data-testid="job-row"]')].map((r) => r.getBoundingClientRect()).sort((a, b) => a.top - b.top);
    return rows.some((r, i) => i > 0 && r.top < rows[i - 1].bottom - 0.5);
  `);
  assert.equal(overlap, false, 'rows never overlap around an expanded one');
  console.log(`# 100k: expanded job ${midId} in the middle; the rows below moved down to make room`);
});
