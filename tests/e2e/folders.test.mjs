// The Browse… dialog through the real window: choose the Queue's destination among the
// account's folders (go in, go out, make a new one, pick), queue a three-level folder through
// the drop handler's own function, and find the tree below the picked folder, byte-exact.
// The account is a `local` one: a provider with folders that needs no mock (the cloud
// providers' folder calls are tested through the same IPC in tests/app/folders.rs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { By } from 'selenium-webdriver';
import { startDriver, openApp, freshDataDir, find, byTestId, screenshot } from './harness.mjs';
import { ferry, until } from './support.mjs';

const dataDir = freshDataDir();
const remote = mkdtempSync(path.join(tmpdir(), 'ferry-e2e-remote-'));
const src = mkdtempSync(path.join(tmpdir(), 'ferry-e2e-album-'));
let driver;
let tauriDriver;

const sha1 = (p) => createHash('sha1').update(readFileSync(p)).digest('hex');

/** Relative path → SHA-1 of every file below `root`. */
function tree(root) {
  const out = {};
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.ferry')) continue;
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(root, p)] = sha1(p);
    }
  };
  walk(root);
  return out;
}

before(async () => {
  for (const d of ['projects/2025', 'projects/2026', 'archive']) mkdirSync(path.join(remote, d), { recursive: true });
  const files = { 'album/cover.jpg': 3000, 'album/2024/a.raw': 70000, 'album/2024/q4/b.raw': 1, 'album/2024/q4/c.raw': 0 };
  for (const [rel, size] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + rel.length) & 0xff;
    writeFileSync(path.join(src, rel), bytes);
  }
  ferry(dataDir, ['account', 'add', 'disk', '--provider', 'local', '--set', `root=${remote}`]);
  tauriDriver = await startDriver({ FERRY_DATA_DIR: dataDir });
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  await tauriDriver?.stop();
});

const text = (el) => el.getAttribute('textContent');
/** Resolves once the page has painted what the DOM holds now (two animation frames). */
const painted = () =>
  driver.executeAsyncScript('const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done()));');
const folderNames = () =>
  driver.executeScript('return [...document.querySelectorAll(\'[data-testid="browse-folder"]\')].map((b) => b.textContent.replace("📁", "").trim())');

async function openFolder(name) {
  await until(`folder ${name} listed`, async () => (await folderNames()).includes(name), 15000);
  const buttons = await driver.findElements(byTestId('browse-folder'));
  for (const b of buttons) {
    if ((await text(b)).includes(name)) return b.click();
  }
  throw new Error(`no folder ${name}`);
}

test('Browse… picks the destination and a dropped folder arrives there with its structure', async () => {
  driver = await openApp();
  await driver.manage().setTimeouts({ implicit: 0, script: 60000 });
  await (await find(driver, 'nav-queue')).click();
  await (await find(driver, 'browse-dest')).click();
  await find(driver, 'folder-browser');
  await until('the base folder listed by name', async () => JSON.stringify(await folderNames()) === JSON.stringify(['archive', 'projects']));

  // In, out again by the path above, in, and a new folder made where we are.
  await openFolder('projects');
  await until('projects listed', async () => JSON.stringify(await folderNames()) === JSON.stringify(['2025', '2026']));
  await (await find(driver, 'browse-up-0')).click();
  await openFolder('projects');
  await until('projects listed again', async () => JSON.stringify(await folderNames()) === JSON.stringify(['2025', '2026']));
  await painted();
  await screenshot(driver, 'browse-dialog.png');
  await openFolder('2026');
  await (await find(driver, 'browse-new')).sendKeys('q4 photos');
  await (await find(driver, 'browse-make')).click();
  await until('inside the new folder', async () => (await text(await find(driver, 'browse-chosen'))) === 'projects/2026/q4 photos');
  assert.ok(statSync(path.join(remote, 'projects/2026/q4 photos')).isDirectory(), 'made on the provider');
  await (await find(driver, 'browse-pick')).click();
  await until('the dialog closed', async () => (await driver.findElements(byTestId('folder-browser'))).length === 0);
  assert.equal(await (await find(driver, 'target-dest')).getAttribute('value'), 'projects/2026/q4 photos');

  const out = await driver.executeAsyncScript(
    'const done = arguments[arguments.length - 1];' +
      'window.__ferryQueueFiles(arguments[0]).then((r) => done(JSON.stringify(r)), (e) => done(JSON.stringify({ kind: "thrown", e: String(e) })));',
    [path.join(src, 'album')],
  );
  const outcome = JSON.parse(out);
  assert.equal(outcome.kind, 'queued', out);
  assert.equal(outcome.report.queued.length, 4);
  assert.ok(outcome.report.queued.every((j) => j.dest.startsWith('projects/2026/q4 photos/album')), out);

  const want = tree(src);
  const dest = path.join(remote, 'projects/2026/q4 photos');
  await until('every file arrived', async () => Object.keys(tree(dest)).length === 4, 60000);
  assert.deepEqual(tree(dest), want, 'the remote tree is the dropped tree, byte-exact');
  await painted();
  await screenshot(driver, 'browse-queued.png');
  const rows = await driver.findElements(By.css('[data-testid="job-row"]'));
  console.log(`# ${rows.length} rows left in the queue; tree: ${JSON.stringify(Object.keys(tree(dest)))}`);
});
