// Ferry as a background program, in the real window: one Ferry per data dir (a second launch
// hands its file to the first, which comes to the front, and exits; a watched folder still
// makes exactly one job per new file), the tray's Pause all / Resume all and its live status
// line in English and Chinese (through the tray's own actions: no tray host runs under Xvfb),
// Quit asking first while uploads run, start at login written and removed under the test's
// XDG_CONFIG_HOME, and `--hidden` starting with no window on screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { By } from 'selenium-webdriver';
import { APP, startDriver, freshDataDir, find, screenshot } from './harness.mjs';
import { Builder, until as wdUntil } from 'selenium-webdriver';
import { ferry, startXfyunMock, writeRandomFile, until, sleep, MiB } from './support.mjs';

const tmp = (name) => mkdtempSync(path.join(tmpdir(), `ferry-e2e-${name}-`));
const dataDir = freshDataDir();
const config = tmp('xdg-config'); // XDG_CONFIG_HOME: where the autostart entry goes
const root = tmp('disk'); // the local account's root
const watched = tmp('watched');
const env = { FERRY_DATA_DIR: dataDir, XDG_CONFIG_HOME: config };
let mock;
let driver;
let tauriDriver;

before(async () => {
  mock = await startXfyunMock();
  ferry(dataDir, ['account', 'add', 'disk', '--provider', 'local', '--set', `root=${root}`]);
  ferry(dataDir, ['account', 'add', 'xf', '--provider', 'xfyun', '--endpoint', mock.url, '--set', 'app_id=A', '--set', 'oneshot_max_bytes=1'], 'api_key=K\napi_secret=S\n');
  ferry(dataDir, ['watch', 'add', watched, '--account', 'disk', '--quiet-secs', '1']);
  ferry(dataDir, ['config', 'set', 'part_size', String(5 * MiB)]);
  ferry(dataDir, ['config', 'set', 'bandwidth', String(2 * MiB)]);
  tauriDriver = await startDriver(env);
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  await tauriDriver?.stop();
  await mock?.stop();
  for (const dir of [config, root, watched]) rmSync(dir, { recursive: true, force: true });
});

/** Opens the app with `args` in a WebDriver session. */
async function open(args = []) {
  const d = await new Builder()
    .usingServer('http://127.0.0.1:4444/')
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application: APP, args } })
    .build();
  await d.wait(wdUntil.elementLocated(By.css('[data-testid="nav-accounts"]')), 20000);
  return d;
}

const text = (el) => el.getAttribute('textContent');
const go = async (name) => (await find(driver, `nav-${name}`)).click();
const jobs = () => ferry(dataDir, ['queue', '--json']).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const sha1 = (bytes) => createHash('sha1').update(bytes).digest('hex');

/** The window's top-level X windows that are on screen (Xvfb has no window manager). */
function visibleFerryWindows() {
  const tree = execFileSync('xwininfo', ['-root', '-children'], { encoding: 'utf8' });
  const ids = [...tree.matchAll(/^\s+(0x[0-9a-f]+) "Ferry"/gm)].map((m) => m[1]);
  return ids.filter((id) => /Map State: IsViewable/.test(execFileSync('xwininfo', ['-id', id], { encoding: 'utf8' })));
}

/** What a tray menu item does, through the tray's own handler. */
const tray = (action) => driver.executeAsyncScript('const done = arguments[arguments.length - 1]; window.__ferryTray.act(arguments[0]).then(() => done(true), (e) => done(String(e)));', action);
const menu = async () => JSON.parse(await driver.executeAsyncScript('const done = arguments[arguments.length - 1]; window.__ferryTray.menu().then((m) => done(JSON.stringify(m)), (e) => done(JSON.stringify({ error: String(e) })));'));

async function setLang(lang) {
  await go('settings');
  await (await find(driver, 'pref-lang')).findElement(By.css(`option[value="${lang}"]`)).click();
}

/** Draws the tray menu as it reads now (its labels from Rust) over the page, for the docs. */
async function drawMenu(m) {
  await driver.executeScript(
    `const m = arguments[0];
     const box = document.createElement('div');
     box.id = '__traymenu';
     box.style.cssText = 'position:fixed;top:8px;right:8px;z-index:99;min-width:260px;padding:4px 0;font:13px var(--font);background:var(--surface);color:var(--text);border:1px solid var(--border);border-radius:6px;box-shadow:0 8px 24px rgb(0 0 0/.25)';
     const row = (t, muted) => { const d = document.createElement('div'); d.textContent = t; d.style.cssText = 'padding:5px 14px;' + (muted ? 'color:var(--text-muted)' : ''); box.append(d); };
     const sep = () => { const d = document.createElement('div'); d.style.cssText = 'margin:4px 0;border-top:1px solid var(--border)'; box.append(d); };
     row(m.status, true); sep(); row(m.items[0]); sep(); row(m.items[1]); row(m.items[2]); row(m.items[3]); sep(); row(m.items[4]);
     const tip = document.createElement('div'); tip.textContent = m.tooltip; tip.style.cssText = 'padding:6px 14px 2px;font-size:11px;color:var(--text-muted)'; box.append(tip);
     document.body.append(box);`,
    m,
  );
}
const clearMenu = () => driver.executeScript("document.getElementById('__traymenu')?.remove()");

test('a second launch hands its file to the first window, which comes to the front; one watcher', async () => {
  driver = await open();
  assert.equal(visibleFerryWindows().length, 1, 'one window on screen');
  await tray('toggle_window');
  await until('the window hidden from the tray', () => visibleFerryWindows().length === 0, 10000);

  // The last used target is the local account.
  const given = path.join(tmp('given'), 'opened with ferry.txt');
  writeFileSync(given, randomBytes(300_000));
  await driver.executeScript(`localStorage.setItem('ferry.target', JSON.stringify({ account: 'disk', dest: '' }))`);
  await driver.navigate().refresh();
  await find(driver, 'nav-accounts');
  const second = spawn(APP, [given], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  second.stdout.on('data', (c) => (out += c));
  second.stderr.on('data', (c) => (out += c));
  const code = await new Promise((r) => second.once('exit', r));
  console.log(`# second launch exited ${code}`);
  assert.equal(code, 0, `the second launch exits 0: ${out}`);
  await until('the first window back on screen', () => visibleFerryWindows().length === 1, 10000);
  const notice = await find(driver, 'enqueue-notice');
  assert.match(await text(notice), /1 file.*disk/s, 'the window shows what was queued');
  await until('the opened file uploaded', () => jobs().find((j) => j.file === given && j.state === 'done'), 30000);
  assert.equal(sha1(readFileSync(path.join(root, 'opened with ferry.txt'))), sha1(readFileSync(given)));
  assert.ok(await driver.executeScript('return document.hasFocus()'), 'the page has the focus');

  // A third launch (no files) while a file lands in the watched folder: exactly one job.
  const third = spawn(APP, [], { env: { ...process.env, ...env }, stdio: 'ignore' });
  assert.equal(await new Promise((r) => third.once('exit', r)), 0);
  const fresh = path.join(watched, 'recording.bin');
  writeFileSync(fresh, randomBytes(200_000));
  await until('the watched file uploaded', () => jobs().find((j) => j.file === fresh && j.state === 'done'), 30000);
  await sleep(3000); // a second watcher, if any, would queue it after its own quiet period
  const forIt = jobs().filter((j) => j.file === fresh);
  console.log(`# jobs for the watched file: ${forIt.length}; windows on screen: ${visibleFerryWindows().length}`);
  assert.equal(forIt.length, 1, 'exactly one job for the new file');
  assert.deepEqual(readdirSync(root).sort(), ['opened with ferry.txt', 'recording.bin']);
});

test('the tray pauses and resumes every upload; its status line is live and in the app language', async () => {
  const file = writeRandomFile('night-recording.wav', 24 * MiB);
  ferry(dataDir, ['upload', file.path, '--account', 'xf']);
  const slices = async () => (await mock.state()).stats.slice_bytes_received;
  await until('bytes at the mock', async () => (await slices()) > 0, 30000);
  await setLang('en');
  await tray('toggle_window'); // the window closed: the tray is all there is
  await until('hidden', () => visibleFerryWindows().length === 0, 10000);
  const live = await until('a live status line', async () => {
    const m = await menu();
    return /^Uploading 1 · [\d.]+ (KiB|MiB)\/s · (\d+|<1) min left$/.test(m.status) && m;
  }, 15000);
  console.log(`# tray while uploading: ${JSON.stringify(live)}`);
  assert.deepEqual(live.items, ['Show Ferry', 'Pause all', 'Resume all', 'Open data folder', 'Quit']);
  assert.equal(live.tooltip, `Ferry — ${live.status}`);
  assert.equal(live.icon, 'uploading');

  await tray('pause_all');
  await sleep(1000); // within 1 s of Pause all the bytes stop
  const b1 = await slices();
  await sleep(3000);
  const b2 = await slices();
  console.log(`# paused from the tray: mock received ${b1} → ${b2} slice bytes over 3 s`);
  assert.equal(b2, b1, 'no bytes reach the mock after Pause all');
  assert.ok(b1 < 24 * MiB, 'paused mid-way');
  const paused = await until('the paused status', async () => {
    const m = await menu();
    return m.status === '1 paused' && m;
  }, 5000);
  assert.equal(paused.icon, 'paused');

  await tray('toggle_window');
  await until('shown', () => visibleFerryWindows().length === 1, 10000);
  await setLang('zh');
  const zh = await until('the menu in Chinese', async () => {
    const m = await menu();
    return m.status === '1 个已暂停' && m;
  }, 5000);
  console.log(`# tray in Chinese: ${JSON.stringify(zh)}`);
  assert.deepEqual(zh.items, ['隐藏 Ferry', '全部暂停', '全部继续', '打开数据文件夹', '退出']);

  await tray('resume_all');
  const zhLive = await until('uploading again, in Chinese', async () => {
    const m = await menu();
    return /^正在上传 1 个 · [\d.]+ (KiB|MiB)\/s · 剩余(不到)? ?\d+ 分钟$/.test(m.status) && m;
  }, 15000);
  await go('queue');
  await drawMenu(zhLive);
  await screenshot(driver, 'tray-menu-zh.png');
  await clearMenu();
  await setLang('en');
  await go('queue');
  const enLive = await until('uploading, in English', async () => {
    const m = await menu();
    return m.status.startsWith('Uploading 1 ·') && m;
  }, 5000);
  await drawMenu(enLive);
  await screenshot(driver, 'tray-menu-en.png');
  await clearMenu();

  // Quit while it uploads: the window asks first; "Keep uploading" keeps it.
  await tray('quit');
  const body = await text(await find(driver, 'quit-body'));
  assert.equal(body, '1 upload is running; it resumes from where it stopped next time Ferry starts.');
  await screenshot(driver, 'quit-confirmation.png');
  await (await find(driver, 'quit-cancel')).click();
  assert.equal(await driver.executeScript('return document.querySelectorAll(\'[data-testid="quit-dialog"]\').length'), 0);

  await until('the upload done', () => jobs().find((j) => j.file === file.path && j.state === 'done'), 120000);
  const object = (await mock.state()).objects.find((o) => o.size === 24 * MiB);
  assert.equal(object?.sha1_hex, file.sha1, 'the bytes at the mock are the file');
  const idle = await until('idle', async () => {
    const m = await menu();
    return m.status === 'Idle' && m;
  }, 5000);
  assert.equal(idle.icon, 'idle');
});

test('start at login: the Settings switch writes and removes the autostart entry', async () => {
  const entry = path.join(config, 'autostart', 'Ferry.desktop');
  await go('settings');
  const on = await find(driver, 'pref-autostart');
  assert.equal(await on.isSelected(), false, 'off by default');
  assert.equal(existsSync(entry), false);
  await on.click();
  await until('the entry written', () => existsSync(entry), 5000);
  const exec = readFileSync(entry, 'utf8').match(/^Exec=(.*)$/m)[1];
  console.log(`# autostart entry: Exec=${exec}`);
  assert.ok(exec.startsWith(APP) && exec.includes('--hidden') && exec.includes(dataDir), exec);
  assert.equal(await (await find(driver, 'pref-start-hidden')).isSelected(), true, 'hidden is on by default');
  await (await find(driver, 'pref-start-hidden')).click();
  await until('the entry without --hidden', () => !readFileSync(entry, 'utf8').includes('--hidden'), 5000);
  const cli = execFileSync(APP, ['config', 'get', 'start_hidden'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(cli.trim(), 'false', 'the CLI reads the same entry');
  await (await find(driver, 'pref-autostart')).click();
  await until('the entry removed', () => !existsSync(entry), 5000);
});

test('Quit when idle just quits; `--hidden` starts with no window on screen', async () => {
  await tray('quit').catch(() => {});
  await until('the app gone', () => {
    try {
      execFileSync('pgrep', ['-f', `^${APP}$`]);
      return false;
    } catch {
      return true;
    }
  }, 10000);
  await driver.quit().catch(() => {});
  driver = await open(['--hidden']);
  await sleep(1000);
  assert.equal(visibleFerryWindows().length, 0, 'no window on screen');
  await tray('toggle_window');
  await until('shown from the tray', () => visibleFerryWindows().length === 1, 10000);
});

test('an unusable database: the window names the file and moves it aside to start fresh', async () => {
  await driver.quit().catch(() => {});
  const broken = freshDataDir();
  const junk = 'this is not a SQLite database\n'.repeat(200);
  writeFileSync(path.join(broken, 'ferry.db'), junk);
  driver = await open(['--data-dir', broken]);
  const dialog = await find(driver, 'db-problem');
  await driver.wait(() => dialog.isDisplayed(), 10000);
  assert.equal(await text(await find(driver, 'db-path')), path.join(broken, 'ferry.db'));
  await driver.sleep(500); // let WebKit paint before the screenshot
  await screenshot(driver, 'database-problem-en.png');
  await (await find(driver, 'db-move-aside')).click();
  await until('the dialog gone after the fresh start', async () => {
    try {
      return (await driver.executeScript('return document.querySelectorAll(\'[data-testid="db-problem"]\').length')) === 0 && (await driver.executeScript('return document.readyState')) === 'complete';
    } catch {
      return false; // the page is reloading
    }
  }, 15000);
  await find(driver, 'nav-accounts');
  const kept = readdirSync(broken).filter((f) => /^ferry\.broken-.*\.db$/.test(f));
  console.log(`# data dir after moving aside: ${readdirSync(broken).sort().join(', ')}`);
  assert.equal(kept.length, 1, 'the old file is kept, renamed');
  assert.equal(readFileSync(path.join(broken, kept[0]), 'utf8'), junk, 'byte for byte');
  assert.equal(ferry(broken, ['account', 'list']), '', 'a fresh, usable database');
});

test('a window that finds `ferry run` at work says so, and takes over engine and watchers when it exits', async () => {
  await driver.quit().catch(() => {});
  const run = spawn(APP, ['run'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  await sleep(1000);
  driver = await open();
  await go('queue');
  const note = await find(driver, 'engine-note', 15000);
  console.log(`# with ferry run at work the window says: ${await text(note)}`);
  const first = path.join(watched, 'while-ferry-run.bin');
  writeFileSync(first, randomBytes(100_000));
  await until('uploaded by ferry run', () => jobs().find((j) => j.file === first && j.state === 'done'), 30000);

  run.kill('SIGTERM');
  await new Promise((r) => run.once('exit', r));
  await until('the window took over', async () => (await driver.executeScript('return document.querySelectorAll(\'[data-testid="engine-note"]\').length')) === 0, 15000);
  const second = path.join(watched, 'after-ferry-run.bin');
  writeFileSync(second, randomBytes(100_000));
  await until('uploaded by the window', () => jobs().find((j) => j.file === second && j.state === 'done'), 30000);
  await sleep(2000);
  for (const f of [first, second]) assert.equal(jobs().filter((j) => j.file === f).length, 1, `one job for ${path.basename(f)}`);
  assert.equal(sha1(readFileSync(path.join(root, 'after-ferry-run.bin'))), sha1(readFileSync(second)));
});
