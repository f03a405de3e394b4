// Watched folders end to end in the real window, with a `local` account made by the CLI:
// a bad folder is refused next to its field; a folder added through the form uploads a file
// written into it (byte-exact at the destination, moved aside afterwards, the excluded and
// temp files left alone) and its queued count reaches 1 on screen; a folder that disappears
// shows as missing; pause / resume and remove (confirmed) reach the database. Screenshots of
// the view in light and dark, English and Chinese, go to docs/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { By, until as wdUntil } from 'selenium-webdriver';
import { startDriver, openApp, freshDataDir, find, byTestId, screenshot } from './harness.mjs';
import { ferry, until, MiB } from './support.mjs';

const ACCOUNT = 'disk';
const dataDir = freshDataDir();
const tmp = (name) => mkdtempSync(path.join(tmpdir(), `ferry-e2e-${name}-`));
const root = tmp('disk'); // the local account's root: uploads land here
const watched = tmp('watched');
const uploaded = tmp('uploaded'); // after upload, files move here
const gone = tmp('gone'); // a second watched folder, removed to see "missing"
let driver;
let tauriDriver;

before(async () => {
  ferry(dataDir, ['account', 'add', ACCOUNT, '--provider', 'local', '--set', `root=${root}`]);
  tauriDriver = await startDriver({ FERRY_DATA_DIR: dataDir });
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  await tauriDriver?.stop();
  for (const dir of [root, watched, uploaded, gone]) rmSync(dir, { recursive: true, force: true });
});

// WebKitWebDriver's getText() skips text in `overflow: hidden` boxes; the DOM text is what is shown.
const text = (el) => el.getAttribute('textContent');

async function go(pageName) {
  await (await find(driver, `nav-${pageName}`)).click();
}

/** Sets language and theme through the Settings page, as a person would. */
async function prefs(lang, theme) {
  await go('settings');
  await (await find(driver, 'pref-lang')).findElement(By.css(`option[value="${lang}"]`)).click();
  await (await find(driver, 'pref-theme')).findElement(By.css(`option[value="${theme}"]`)).click();
}

async function type(id, value) {
  const el = await find(driver, id);
  await el.clear();
  if (value !== '') await el.sendKeys(value);
}

const rowSelector = (dir) => By.css(`[data-testid="watch-row"][data-dir="${dir}"]`);

async function row(dir) {
  return driver.wait(wdUntil.elementLocated(rowSelector(dir)), 15000);
}

/** The text of `id` inside the row of `dir`, read afresh (rows re-render every 2 s). */
async function rowText(dir, id) {
  const r = await row(dir);
  return text(await r.findElement(byTestId(id)));
}

/** `ferry watch list --json`: one JSON object a line. */
function cliWatches() {
  return ferry(dataDir, ['watch', 'list', '--json'])
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

const sha1 = (bytes) => createHash('sha1').update(bytes).digest('hex');

/** Every file below `dir`, as relative paths. */
function filesBelow(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

test('a folder that is not an absolute path is refused next to the field', async () => {
  driver = await openApp();
  await prefs('en', 'light');
  await go('watches');
  // No watch yet: the form is open from the start.
  await find(driver, 'watch-form');
  await type('watch-dir', 'Pictures/Import');
  await (await find(driver, 'watch-submit')).click();
  const err = await find(driver, 'error-watch-dir');
  await driver.wait(async () => /absolute/.test(await text(err)), 5000);
  assert.equal(await (await find(driver, 'watch-dir')).getAttribute('aria-invalid'), 'true');
  console.log(`# refused: ${await text(err)}`);
  assert.equal(cliWatches().length, 0, 'nothing was stored');
});

test('a folder added through the form uploads a file written into it', async () => {
  await type('watch-dir', watched);
  assert.equal(await (await find(driver, 'watch-account')).getAttribute('value'), ACCOUNT, 'the only account is chosen');
  await type('watch-dest', 'camera');
  await type('watch-exclude', '*.raw');
  await type('watch-quiet', '4'); // long enough for the 2 s refresh to show the file settling
  await (await find(driver, 'watch-after-move')).click();
  await type('watch-move-dir', uploaded);
  await (await find(driver, 'watch-submit')).click();

  await row(watched);
  assert.match(await text(await find(driver, 'watches-notice')), /Now watching/);
  assert.match(await rowText(watched, 'watch-dest'), /disk › camera/);
  assert.match(await rowText(watched, 'watch-rules'), /All files · except \*\.raw · with sub-folders · quiet for 4 s/);
  assert.match(await rowText(watched, 'watch-after'), new RegExp(`Move into ${uploaded}`));
  const started = Date.now();
  await until('the watch to be watching', async () => (await (await row(watched)).getAttribute('data-status')) === 'watching', 20000);
  console.log(`# watching ${Date.now() - started} ms after the form was sent; detail: ${await rowText(watched, 'watch-detail')}`);

  // A photo in a new sub-folder, an excluded raw file and a download still in progress.
  const photo = randomBytes(3 * MiB);
  mkdirSync(path.join(watched, '2024'));
  const written = Date.now();
  writeFileSync(path.join(watched, '2024', 'IMG_0001.jpg'), photo);
  writeFileSync(path.join(watched, '2024', 'IMG_0001.raw'), randomBytes(64 * 1024));
  writeFileSync(path.join(watched, 'clip.mp4.part'), randomBytes(64 * 1024));

  // Poll the screen and the destination together, so each time is its own.
  const seen = new Set();
  const target = path.join(root, 'camera', '2024', 'IMG_0001.jpg');
  let queuedAt = 0;
  let arrivedAt = 0;
  await until(
    'the queued count to reach 1 on screen and the photo at the destination',
    async () => {
      seen.add(`${await rowText(watched, 'watch-status')} | pending ${await rowText(watched, 'watch-pending')}`);
      if (!queuedAt && (await rowText(watched, 'watch-queued')) === '1') queuedAt = Date.now();
      if (!arrivedAt && existsSync(target)) arrivedAt = Date.now();
      return queuedAt && arrivedAt;
    },
    60000,
    100,
  );
  assert.equal(sha1(readFileSync(target)), sha1(photo), 'the uploaded bytes are the file’s');
  const moved = path.join(uploaded, '2024', 'IMG_0001.jpg');
  await until('the photo moved aside after upload', () => existsSync(moved), 30000);
  assert.equal(sha1(readFileSync(moved)), sha1(photo), 'the moved file is intact');
  assert.ok(!existsSync(path.join(watched, '2024', 'IMG_0001.jpg')), 'the photo left the watched folder');
  console.log(`# file written → queued count 1 on screen: ${queuedAt - written} ms; → at the destination: ${arrivedAt - written} ms`);
  console.log(`# statuses seen on screen: ${[...seen].join('; ')}`);

  assert.deepEqual(filesBelow(root), [path.join('camera', '2024', 'IMG_0001.jpg')], 'only the photo was uploaded');
  assert.deepEqual(filesBelow(watched), [path.join('2024', 'IMG_0001.raw'), 'clip.mp4.part'], 'excluded and temp files stay');
  const [w] = cliWatches();
  assert.equal(w.queued, 1, 'the watch queued exactly one file');
  assert.equal(w.status, 'watching');
  console.log(`# ferry watch list: status ${w.status}, pending ${w.pending}, queued ${w.queued}`);
});

test('a watched folder that disappears shows as missing', async () => {
  // Added from the command line while the window runs: the page shows it within seconds.
  ferry(dataDir, ['watch', 'add', gone, '--account', ACCOUNT, '--to', 'scans', '--include', '*.pdf', '--after', 'delete', '--no-recursive']);
  await row(gone);
  await until('the second watch to be watching', async () => (await (await row(gone)).getAttribute('data-status')) === 'watching', 20000);
  rmSync(gone, { recursive: true, force: true });
  await until('the folder to show as missing', async () => (await (await row(gone)).getAttribute('data-status')) === 'missing', 30000);
  assert.match(await rowText(gone, 'watch-status'), /Folder missing/);
  const detail = await rowText(gone, 'watch-detail');
  assert.match(detail, /is not there/);
  assert.match(await rowText(gone, 'watch-after'), /Delete the file once its upload is confirmed/);
  console.log(`# missing folder detail: ${detail}`);
});

test('screenshots of the view in light and dark, English and Chinese', async () => {
  const shots = [
    ['en', 'light', 'watches-light-en.png'],
    ['en', 'dark', 'watches-dark-en.png'],
    ['zh', 'light', 'watches-light-zh.png'],
    ['zh', 'dark', 'watches-dark-zh.png'],
  ];
  for (const [lang, theme, file] of shots) {
    await prefs(lang, theme);
    await go('watches');
    await row(watched);
    await row(gone);
    const html = await driver.executeScript(
      'return { lang: document.documentElement.lang, theme: document.documentElement.dataset.theme ?? null, bg: getComputedStyle(document.body).backgroundColor }',
    );
    assert.equal(html.theme, theme);
    assert.equal(html.lang, lang === 'zh' ? 'zh-CN' : 'en');
    assert.match(await text(await find(driver, 'add-watch')), lang === 'zh' ? /添加监视文件夹/ : /Add watched folder/);
    await driver.executeScript('document.activeElement?.blur()'); // no focus ring in the picture
    await driver.sleep(400); // let WebKit paint
    await screenshot(driver, file);
  }
  // The form, filled in, above the list.
  await prefs('en', 'light');
  await go('watches');
  await (await find(driver, 'add-watch')).click();
  await type('watch-dir', '/home/me/Pictures/Import');
  await type('watch-dest', 'camera/2024');
  await type('watch-include', '*.jpg, *.{cr2,nef}');
  await type('watch-exclude', '*.xmp');
  await (await find(driver, 'watch-after-delete')).click();
  await driver.executeScript('document.activeElement?.blur()');
  await driver.sleep(400);
  await screenshot(driver, 'watches-form.png');
  await (await find(driver, 'watch-cancel')).click();
  console.log(`# screenshots: ${[...shots.map((s) => s[2]), 'watches-form.png'].join(', ')} in docs/`);
});

test('pause and resume reach the watch service; remove asks first', async () => {
  const toggle = async () => (await row(watched)).findElement(byTestId('watch-toggle'));
  await (await toggle()).click();
  await until('the watch to be paused', async () => (await (await row(watched)).getAttribute('data-status')) === 'paused', 10000);
  assert.equal(await text(await toggle()), 'Resume');
  assert.equal(cliWatches().find((w) => w.dir === watched).enabled, false);

  await (await toggle()).click();
  await until('the watch to be watching again', async () => (await (await row(watched)).getAttribute('data-status')) === 'watching', 20000);
  assert.equal(await text(await toggle()), 'Pause');
  assert.equal(cliWatches().find((w) => w.dir === watched).enabled, true);

  await (await (await row(gone)).findElement(byTestId('watch-remove'))).click();
  assert.equal(cliWatches().length, 2, 'nothing removed before the confirmation');
  await (await (await row(gone)).findElement(byTestId('watch-remove-confirm'))).click();
  await driver.wait(async () => (await driver.findElements(rowSelector(gone))).length === 0, 10000);
  assert.deepEqual(
    cliWatches().map((w) => w.dir),
    [watched],
  );
  assert.equal(filesBelow(root).length, 1, 'nothing was uploaded again after resuming');
});
