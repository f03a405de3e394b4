// The window's queue end to end, against the strict iFlytek mock: queue a 40 MiB file
// through the drop handler's own function, watch its part grid fill, pause (the mock stops
// receiving bytes), resume to the end, find it in History with its link; then switch
// language and theme and take the screenshots of docs/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { By, Key, until as wdUntil } from 'selenium-webdriver';
import { startDriver, openApp, freshDataDir, find, byTestId, screenshot } from './harness.mjs';
import { appendFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ferry, startXfyunMock, writeRandomFile, until, sleep, watchNotifications, MiB } from './support.mjs';

const dataDir = freshDataDir();
const ACCOUNT = 'xf';
let mock;
let driver;
let tauriDriver;
let first;
let second;
let bus;

before(async () => {
  mock = await startXfyunMock();
  ferry(dataDir, ['account', 'add', ACCOUNT, '--provider', 'xfyun', '--endpoint', mock.url, '--set', 'app_id=A', '--set', 'oneshot_max_bytes=1'], 'api_key=K\napi_secret=S\n');
  ferry(dataDir, ['config', 'set', 'part_size', String(5 * MiB)]);
  ferry(dataDir, ['config', 'set', 'bandwidth', String(2 * MiB)]);
  first = writeRandomFile('field-recording.wav', 40 * MiB);
  second = writeRandomFile('interview-2024.mp4', 100 * MiB);
  bus = await watchNotifications();
  tauriDriver = await startDriver({ FERRY_DATA_DIR: dataDir });
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  await tauriDriver?.stop();
  await mock?.stop();
  bus?.stop();
});

// WebKitWebDriver's getText() skips text in `overflow: hidden` boxes; the DOM text is what is shown.
const text = (el) => el.getAttribute('textContent');
const attr = async (id, name) => (await find(driver, id)).getAttribute(name);
// Counted in the page: an element handle can go stale between the driver finding it and
// making its handle while the list re-renders.
const count = (css) => driver.executeScript('return document.querySelectorAll(arguments[0]).length', css);
/** A row's data attributes, looked up afresh (the list recycles row elements). */
const rowData = (name) =>
  driver.executeScript('const r = document.querySelector(`[data-testid="job-row"][data-name="${arguments[0]}"]`); return r ? { ...r.dataset } : null;', name);

async function row(name) {
  return driver.wait(wdUntil.elementLocated(By.css(`[data-testid="job-row"][data-name="${name}"]`)), 15000);
}

async function go(pageName) {
  await (await find(driver, `nav-${pageName}`)).click();
}

/** Sets language and theme through the Settings page, as a person would. */
async function prefs(lang, theme) {
  await go('settings');
  await (await find(driver, 'pref-lang')).findElement(By.css(`option[value="${lang}"]`)).click();
  await (await find(driver, 'pref-theme')).findElement(By.css(`option[value="${theme}"]`)).click();
}

/** Calls the function the drop handler calls (WebDriver cannot drag from the OS). */
async function queueFiles(paths) {
  const out = await driver.executeAsyncScript(
    'const done = arguments[arguments.length - 1];' +
      'window.__ferryQueueFiles(arguments[0]).then((r) => done(JSON.stringify(r)), (e) => done(JSON.stringify({ kind: "thrown", e: String(e) })));',
    paths,
  );
  return JSON.parse(out);
}

const slices = async () => (await mock.state()).stats.slice_bytes_received;

test('a file queued through the drop handler uploads with a live part grid', async () => {
  driver = await openApp();
  await driver.manage().setTimeouts({ implicit: 0, script: 60000 });
  await prefs('en', 'light');
  await go('queue');
  assert.equal(await attr('target-account', 'value'), ACCOUNT, 'the only account is chosen');

  const outcome = await queueFiles([first.path]);
  assert.equal(outcome.kind, 'queued', JSON.stringify(outcome));
  assert.equal(outcome.report.queued.length, 1);
  assert.equal(outcome.report.queued[0].size, 40 * MiB);
  assert.match(await text(await find(driver, 'enqueue-notice')), /Queued 1 file \(40 MiB\) for xf/);

  const r = await row('field-recording.wav');
  // Record every value the grid and the row take, so a state shorter than a poll is not missed.
  await driver.executeScript(`
    window.__seen = { acked: [], states: [] };
    new MutationObserver(() => {
      const grid = document.querySelector('[data-testid="part-grid"]');
      const row = document.querySelector('[data-testid="job-row"][data-name="field-recording.wav"]');
      const a = grid ? Number(grid.dataset.acked) : -1;
      if (window.__seen.acked.at(-1) !== a) window.__seen.acked.push(a);
      const s = row ? row.dataset.state : 'gone';
      if (window.__seen.states.at(-1) !== s) window.__seen.states.push(s);
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-acked', 'data-state'] });
  `);
  // Expanded from the keyboard; the focused button shows its focus ring.
  const expand = await r.findElement(byTestId('job-expand'));
  await expand.sendKeys(Key.ENTER);
  await until('expanded', async () => (await expand.getAttribute('aria-expanded')) === 'true');
  const ring = await driver.executeScript('const s = getComputedStyle(document.activeElement); return [document.activeElement.dataset.testid, s.outlineStyle, s.outlineWidth];');
  console.log(`# keyboard: focus on ${ring[0]}, outline ${ring[1]} ${ring[2]}`);
  assert.equal(ring[0], 'job-expand');
  assert.notEqual(ring[1], 'none', 'the focused control shows a focus ring');
  const grid = await find(driver, 'part-grid');
  await until('8 parts planned', async () => (await grid.getAttribute('data-total')) === '8');
  await until('a part in flight', async () => (await count('[data-testid="part-cell"][data-state="in_flight"]')) === 1);
  await until('two parts acknowledged', async () => Number(await grid.getAttribute('data-acked')) >= 2, 60000);
  const speed = await text(await r.findElement(byTestId('job-speed')));
  const eta = await text(await r.findElement(byTestId('job-eta')));
  console.log(`# mid-upload: ${await grid.getAttribute('data-acked')}/8 parts acknowledged, speed "${speed}", time left "${eta}"`);
  assert.match(speed, /MiB\/s|KiB\/s/);
});

test('pause stops the bytes at the provider; resume finishes every part', async () => {
  const r = await row('field-recording.wav');
  await (await r.findElement(byTestId('job-pause'))).click();
  await until('paused', async () => (await r.getAttribute('data-state')) === 'paused');
  await sleep(1000); // let the dropped request's connection close
  const [b1, a1] = [await slices(), Number(await r.getAttribute('data-acked'))];
  await sleep(3000);
  const [b2, a2] = [await slices(), Number(await r.getAttribute('data-acked'))];
  console.log(`# paused: mock received ${b1} → ${b2} slice bytes over 3 s; the row shows ${a1} → ${a2} acknowledged bytes`);
  assert.equal(b2, b1, 'no slice bytes reach the mock while paused');
  assert.equal(a2, a1, 'the acknowledged bytes stand still');
  assert.ok(b1 > 0 && b1 < 40 * MiB, `paused mid-way (${b1} bytes at the mock)`);
  assert.equal((await count('[data-testid="part-cell"][data-state="in_flight"]')), 0, 'no part in flight');

  // A faster limit, saved while paused, applies to the rest of the upload.
  await go('settings');
  const bw = await find(driver, 'setting-field-bandwidth');
  assert.equal(await bw.getAttribute('value'), '2', 'the CLI’s limit shows, in MiB/s');
  await bw.clear();
  await bw.sendKeys('6');
  await (await find(driver, 'settings-save')).click();
  await until('saved', async () => /Settings saved/.test(await text(await find(driver, 'settings-notice'))));
  assert.match(ferry(dataDir, ['config', 'get', 'bandwidth']), new RegExp(String(6 * MiB)));

  await go('queue');
  const again = await row('field-recording.wav');
  assert.ok((await count('[data-testid="part-grid"]')) === 1, 'the row is still expanded');
  await (await again.findElement(byTestId('job-resume'))).click();
  const grid = await find(driver, 'part-grid');
  await until('all 8 parts acknowledged', async () => (await grid.getAttribute('data-acked')) === '8', 120000);
  await until('done', async () => (await again.getAttribute('data-state')) === 'done', 30000);
  assert.equal((await count('[data-testid="part-cell"][data-state="acked"]')), 8);
  // A finished job stays a moment in the Queue, then only History lists it.
  await until('the job leaves the queue', async () => (await count('[data-testid="job-row"][data-name="field-recording.wav"]')) === 0, 30000);
  const seen = await driver.executeScript('return window.__seen');
  console.log(`# part grid acknowledged counts seen: ${seen.acked.join(' ')}; row states: ${seen.states.join(' → ')}`);
  assert.ok(seen.acked.includes(8), 'the grid reached 8 of 8 acknowledged');
  assert.ok(seen.states.includes('paused') && seen.states.at(-1) === 'gone');
  const st = await mock.state();
  assert.equal(st.stats.completes_ok, 1);
  const object = st.objects.find((o) => o.size === 40 * MiB);
  assert.ok(object, 'the mock stored a 40 MiB object');
  assert.equal(object.sha1_hex, first.sha1, 'the bytes at the mock are the file');
  console.log(`# mock: ${st.stats.slices_received} slices, ${st.stats.slice_bytes_received} slice bytes, object sha1 ${object.sha1_hex}`);
  // The desktop notification, as it went out on the session bus.
  const sent = await until('the notification on the session bus', () =>
    bus.notices().find((n) => n.summary === 'Uploads finished' && /1 file uploaded \(40 MiB\)/.test(n.body)),
  10000);
  console.log(`# desktop notification on the bus: ${sent.summary} — ${sent.body}`);
});

test('the upload is in History with its link, which can be copied', async () => {
  await go('history');
  const h = await driver.wait(wdUntil.elementLocated(By.css('[data-testid="history-row"][data-name="field-recording.wav"]')), 10000);
  const result = await h.findElement(byTestId('history-result'));
  const st = await mock.state();
  const url = st.objects.find((o) => o.size === 40 * MiB).url;
  assert.equal(await text(result), url);
  assert.equal(await result.getAttribute('data-kind'), 'url');
  assert.match(await text(h), /40 MiB/);
  assert.match(await text(h), /xf/);
  await (await h.findElement(byTestId('history-copy'))).click();
  const status = await h.findElement(By.css('[role="status"]'));
  const said = await until('the copy result', async () => text(status), 5000);
  console.log(`# copy button said: ${said}`);
  await (await find(driver, 'history-search')).sendKeys('no-such-file');
  await find(driver, 'history-none');
  await (await find(driver, 'history-search')).clear();
  await (await find(driver, 'history-search')).sendKeys('field');
  await find(driver, 'history-row');
});

test('language and theme switch everywhere; screenshots of every view', async () => {
  // Slow again (from the CLI: the running engine picks it up), so the screenshots catch it mid-way.
  ferry(dataDir, ['config', 'set', 'bandwidth', String(2 * MiB)]);
  await go('queue');
  const outcome = await queueFiles([second.path]);
  assert.equal(outcome.kind, 'queued');
  const r = await row('interview-2024.mp4');
  await (await r.findElement(byTestId('job-expand'))).click();
  await until('the second upload is moving', async () => Number(await (await find(driver, 'part-grid')).getAttribute('data-acked')) >= 1, 60000);

  const combos = [
    ['en', 'light'],
    ['en', 'dark'],
    ['zh', 'light'],
    ['zh', 'dark'],
  ];
  for (const [lang, theme] of combos) {
    await prefs(lang, theme);
    await go('queue');
    await find(driver, 'part-grid');
    const html = await driver.executeScript(
      'return { lang: document.documentElement.lang, theme: document.documentElement.dataset.theme ?? null, bg: getComputedStyle(document.body).backgroundColor }',
    );
    assert.equal(html.lang, lang === 'zh' ? 'zh-CN' : 'en');
    assert.equal(html.theme, theme);
    const dark = html.bg === 'rgb(30, 30, 32)';
    assert.equal(dark, theme === 'dark', `body background ${html.bg} for ${theme}`);
    assert.match(await text(await find(driver, 'nav-queue')), lang === 'zh' ? /^\s*上传队列\s*1\s*1 个未完成的上传\s*$/ : /^\s*Queue\s*1\s*1 unfinished upload\s*$/);
    assert.equal(await text(await (await row('interview-2024.mp4')).findElement(byTestId('job-state'))), lang === 'zh' ? '上传中' : 'Uploading');
    await sleep(400); // let WebKit paint
    await screenshot(driver, `queue-${theme}-${lang}.png`);
  }
  for (const [lang, theme] of combos) {
    await prefs(lang, theme);
    await sleep(300);
    await screenshot(driver, `settings-${theme}-${lang}.png`);
    await go('history');
    await find(driver, 'history-row');
    await sleep(300);
    await screenshot(driver, `history-${theme}-${lang}.png`);
    await go('accounts');
    await find(driver, 'account-row');
    await sleep(300);
    await screenshot(driver, `accounts-${theme}-${lang}.png`);
  }
  console.log('# screenshots: queue, history, accounts, settings × light/dark × en/zh in docs/');

  await prefs('en', 'system');
  await go('queue');
  const moving = await row('interview-2024.mp4');
  await (await moving.findElement(byTestId('job-cancel'))).click();
  await until('cancelled', async () => (await count('[data-testid="job-row"][data-name="interview-2024.mp4"]')) === 0, 20000);
  await go('history');
  const h = await driver.wait(wdUntil.elementLocated(By.css('[data-testid="history-row"][data-name="interview-2024.mp4"]')), 10000);
  assert.equal(await h.getAttribute('data-state'), 'cancelled');
  assert.match(ferry(dataDir, ['queue']), /cancelled/);
});

test('a file changed mid-upload fails clearly, says what to do, notifies, and a retry uploads the new version', async () => {
  ferry(dataDir, ['config', 'set', 'bandwidth', String(2 * MiB)]);
  const changing = writeRandomFile('draft-take-3.wav', 20 * MiB);
  await go('queue');
  assert.equal((await queueFiles([changing.path])).kind, 'queued');
  await row('draft-take-3.wav');
  await until('a part acknowledged', async () => Number((await rowData('draft-take-3.wav'))?.acked) > 0, 60000);
  appendFileSync(changing.path, Buffer.alloc(MiB, 7));
  await until('failed', async () => (await rowData('draft-take-3.wav'))?.state === 'failed', 60000);
  const r = await row('draft-take-3.wav');
  const error = await text(await r.findElement(byTestId('job-error')));
  assert.match(error, /draft-take-3\.wav changed while uploading/);
  await (await r.findElement(byTestId('job-expand'))).click();
  assert.equal(await text(await find(driver, 'job-advice')), 'The file changed after it was queued. Retry to upload the current version.');
  assert.match(await text(await find(driver, 'job-problem')), /Upload failed · File changed while uploading/);
  const failedNote = await until('the failure notification on the session bus', () =>
    bus.notices().find((n) => n.summary === 'Upload failed' && n.body.includes('draft-take-3.wav')),
  10000);
  console.log(`# failed job: "${error}"; notification on the bus: ${failedNote.summary} — ${failedNote.body}`);
  await sleep(300);
  await screenshot(driver, 'queue-failed-en.png');

  // Retry: the same job starts over with the file as it is now, and the bytes at the
  // provider are the new version.
  ferry(dataDir, ['config', 'set', 'bandwidth', '0']);
  await (await r.findElement(byTestId('job-retry'))).click();
  const done = await until('the retried job is done', async () => {
    const views = ferry(dataDir, ['queue', '--json']).trim().split('\n').map((l) => JSON.parse(l));
    const job = views.find((j) => j.name === 'draft-take-3.wav');
    return job?.state === 'done' ? job : null;
  }, 60000);
  assert.equal(done.size, 21 * MiB);
  const st = await mock.state();
  const object = st.objects.find((o) => o.size === 21 * MiB);
  assert.ok(object, 'the mock stored the new version');
  assert.equal(object.sha1_hex, createHash('sha1').update(readFileSync(changing.path)).digest('hex'));
  assert.ok(!st.objects.some((o) => o.size === 20 * MiB), 'the old version was never completed');
});
