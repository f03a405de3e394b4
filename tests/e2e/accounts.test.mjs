// The foundation's end-to-end test: add an account with a secret through the real window,
// see it listed, restart the app and still see it, find the secret in the Secret Service
// and nowhere in the SQLite files, test its connection against the iFlytek mock (and with a
// wrong secret, see the precise error; an upload then fails, the secret is corrected in the
// window and Retry uploads it without a restart), then remove it (window and keyring).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { By, until } from 'selenium-webdriver';
import { startDriver, openApp, freshDataDir, find, byTestId, keyringItems, sqliteBytes, screenshot } from './harness.mjs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startXfyunMock, writeRandomFile, ferry, until as poll } from './support.mjs';

const dataDir = freshDataDir();
const secret = `e2e-secret-${process.pid}-${Date.now()}`;
const name = 'iFlytek work';
let driver;
let tauriDriver;
let mock;

before(async () => {
  mock = await startXfyunMock({ appId: '4CC5779A', apiKey: 'e2e-key', apiSecret: secret });
  tauriDriver = await startDriver({ FERRY_DATA_DIR: dataDir });
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  await tauriDriver?.stop();
  await mock?.stop();
});

async function type(id, text) {
  const el = await find(driver, id);
  await el.clear();
  await el.sendKeys(text);
}

// WebKitWebDriver's getText() skips text in `overflow: hidden` boxes; the DOM text is what is shown.
const text = (el) => el.getAttribute('textContent');

async function row() {
  return driver.wait(until.elementLocated(By.css(`[data-testid="account-row"][data-name="${name}"]`)), 10000);
}

test('add an account with a secret through the form', async () => {
  driver = await openApp();
  await (await find(driver, 'nav-accounts')).click();
  await (await find(driver, 'add-account')).click();
  await type('field-name', name);
  await (await find(driver, 'field-provider')).findElement(By.css('option[value="xfyun"]')).click();
  await type('field-endpoint', mock.url);
  await type('setting-app_id', '4CC5779A');
  await type('setting-api_key', 'e2e-key');
  const secretInput = await find(driver, 'setting-api_secret');
  assert.equal(await secretInput.getAttribute('type'), 'password');
  await secretInput.sendKeys(secret);
  await (await find(driver, 'account-submit')).click();
  const r = await row();
  assert.match(await text(r), /4CC5779A/);
  assert.match(await text(r), /iFlytek work/);
  assert.ok(!(await driver.getPageSource()).includes(secret), 'the secret is not echoed anywhere in the page');
});

test('bad input is refused with a message next to the field', async () => {
  await (await find(driver, 'add-account')).click();
  await type('field-name', name); // duplicate
  await (await find(driver, 'field-provider')).findElement(By.css('option[value="local"]')).click();
  await type('setting-root', '/tmp/ferry-e2e-dest');
  await (await find(driver, 'account-submit')).click();
  const err = await find(driver, 'error-name');
  await driver.wait(async () => /already exists/.test(await text(err)), 5000);
});

test('after a restart the account is still listed', async () => {
  await driver.quit();
  driver = await openApp();
  await (await find(driver, 'nav-accounts')).click();
  const r = await row();
  assert.match(await text(r), /4CC5779A/);
  await driver.sleep(500); // let WebKit paint before the screenshot
  await screenshot(driver, 'accounts.png');
});

test('the secret is in the keyring and nowhere in the SQLite files', () => {
  const items = keyringItems();
  assert.ok(items.includes(secret), `secret-tool finds the secret:\n${items.replace(secret, '<secret>')}`);
  const files = sqliteBytes(dataDir);
  assert.ok(files.length >= 1, 'the SQLite database exists');
  for (const bytes of files) {
    assert.equal(bytes.indexOf(Buffer.from(secret)), -1, 'secret bytes must not be in SQLite');
  }
  assert.ok(files.some((b) => b.indexOf(Buffer.from('4CC5779A')) !== -1), 'the non-secret setting is in SQLite');
});

test('Test connection says it works, and names the problem once the secret is wrong', async () => {
  // Read in the page each time: the row re-renders when the test starts and ends.
  const tested = async (before = null) => {
    await (await (await row()).findElement(byTestId('account-test'))).click();
    let seen = null;
    await driver.wait(async () => {
      seen = await driver.executeScript(`
        const r = document.querySelector('[data-testid="account-test-result"]');
        return r ? { ok: r.dataset.ok, kind: r.dataset.kind ?? null, text: r.textContent.trim() } : null;`);
      return seen !== null && seen.text !== before;
    }, 20000);
    return seen;
  };
  const good = await tested();
  assert.equal(good.ok, 'true', good.text);
  assert.match(good.text, /^Connection works: .*signed requests to 127\.0\.0\.1:\d+ are accepted$/);

  // A wrong secret, entered through the edit form.
  await (await (await row()).findElement(byTestId('account-edit'))).click();
  await type('setting-api_secret', 'not-the-secret');
  await (await find(driver, 'account-submit')).click();
  await driver.wait(async () => (await driver.findElements(byTestId('account-submit'))).length === 0, 10000);
  const bad = await tested(good.text);
  assert.equal(bad.ok, 'false', bad.text);
  assert.equal(bad.kind, 'auth');
  assert.match(bad.text, /check the account's APIKey and APISecret/);
  console.log(`# test connection: "${good.text}" / with a wrong secret: "${bad.text}"`);
  assert.ok(!(await driver.getPageSource()).includes('not-the-secret'), 'the secret is not echoed');
});

test('an upload fails on the wrong secret; corrected in the window, Retry uploads it without a restart', async () => {
  const file = writeRandomFile('minutes-2026-12.pdf', 3 * 1024 * 1024 + 17);
  const jobState = () => driver.executeScript(
    'const r = document.querySelector(`[data-testid="job-row"][data-name="minutes-2026-12.pdf"]`); return r ? r.dataset.state : null;');
  await (await find(driver, 'nav-queue')).click();
  const queued = JSON.parse(await driver.executeAsyncScript(
    'const done = arguments[arguments.length - 1];' +
      'window.__ferryQueueFiles(arguments[0]).then((r) => done(JSON.stringify(r)), (e) => done(JSON.stringify({ kind: "thrown", e: String(e) })));',
    [file.path]));
  assert.equal(queued.kind, 'queued', JSON.stringify(queued));
  await poll('the job fails on the wrong secret', async () => (await jobState()) === 'failed', 60000);
  const failedRow = await driver.findElement(By.css('[data-testid="job-row"][data-name="minutes-2026-12.pdf"]'));
  const error = await text(await failedRow.findElement(byTestId('job-error')));
  assert.match(error, /APISecret/, error);

  // The same window, the same engine: fix the secret in the edit form, then Retry.
  await (await find(driver, 'nav-accounts')).click();
  await (await (await row()).findElement(byTestId('account-edit'))).click();
  await type('setting-api_secret', secret);
  await (await find(driver, 'account-submit')).click();
  await driver.wait(async () => (await driver.findElements(byTestId('account-submit'))).length === 0, 10000);
  await (await find(driver, 'nav-queue')).click();
  const again = await driver.wait(until.elementLocated(By.css('[data-testid="job-row"][data-name="minutes-2026-12.pdf"]')), 10000);
  await (await again.findElement(byTestId('job-retry'))).click();
  const done = await poll('the retried job is done', async () => {
    const views = ferry(dataDir, ['queue', '--json']).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const job = views.find((j) => j.name === 'minutes-2026-12.pdf');
    return job?.state === 'done' ? job : null;
  }, 60000);
  const st = await mock.state();
  const object = st.objects.find((o) => o.size === done.size);
  assert.ok(object, 'the mock stored the file');
  assert.equal(object.sha1_hex, createHash('sha1').update(readFileSync(file.path)).digest('hex'));
  console.log(`# wrong secret: "${error}"; after the fix in the window and Retry: done, sha1 ${object.sha1_hex} at the mock`);
  await (await find(driver, 'nav-accounts')).click();
});

test('remove deletes the account and its keyring entries', async () => {
  const r = await row();
  await (await r.findElement(byTestId('account-remove'))).click();
  await (await find(driver, 'account-remove-confirm')).click();
  await driver.wait(async () => (await driver.findElements(By.css(`[data-testid="account-row"][data-name="${name}"]`))).length === 0, 10000);
  assert.ok(!keyringItems().includes(secret), 'the keyring entry is gone');
});
