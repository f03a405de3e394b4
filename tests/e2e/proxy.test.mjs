// Settings → Proxy in the real window: a custom URL with a user and password, saved through
// the form, takes the window's own uploads through a proxy on loopback (with those
// credentials), and None takes them straight to the mock again, without a restart. The
// password is in the keyring only: not in the page, not in SQLite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startDriver, openApp, freshDataDir, find, keyringItems, sqliteBytes } from './harness.mjs';
import { ferry, startXfyunMock, writeRandomFile, until, MiB } from './support.mjs';

const dataDir = freshDataDir();
const USER = 'e2e-proxy-user';
const PASSWORD = `e2e-proxy-pw-${process.pid}-${Date.now()}`;
let mock;
let proxy;
let driver;
let tauriDriver;

/** A proxy for absolute-form requests and CONNECT that demands Basic credentials. */
function startProxy() {
  const want = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const stats = { relayed: 0, refused: 0, bytesUp: 0, auth: new Set() };
  const allowed = (req, refuse) => {
    const auth = req.headers['proxy-authorization'];
    if (auth) stats.auth.add(auth);
    if (auth === want) return true;
    stats.refused += 1;
    refuse();
    return false;
  };
  const server = http.createServer((req, res) => {
    if (!allowed(req, () => res.writeHead(407, { 'proxy-authenticate': 'Basic realm="e2e"' }).end())) return;
    const target = new URL(req.url); // absolute form
    stats.relayed += 1;
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.on('data', (c) => (stats.bytesUp += c.length));
    req.pipe(up);
  });
  server.on('connect', (req, socket, head) => {
    if (!allowed(req, () => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n'))) return;
    const [host, port] = req.url.split(':');
    stats.relayed += 1;
    const up = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      socket.on('data', (c) => (stats.bytesUp += c.length));
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, stats, stop: () => new Promise((r) => server.close(r)) })),
  );
}

before(async () => {
  mock = await startXfyunMock();
  proxy = await startProxy();
  ferry(dataDir, ['account', 'add', 'xf', '--provider', 'xfyun', '--endpoint', mock.url, '--set', 'app_id=A', '--set', 'oneshot_max_bytes=1'], 'api_key=K\napi_secret=S\n');
  ferry(dataDir, ['config', 'set', 'part_size', String(5 * MiB)]);
  // The environment names no proxy and bypasses loopback: a proxy chosen in Settings must not be bypassed.
  tauriDriver = await startDriver({ FERRY_DATA_DIR: dataDir, NO_PROXY: '127.0.0.1,localhost', HTTP_PROXY: '', HTTPS_PROXY: '', ALL_PROXY: '' });
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  await tauriDriver?.stop();
  await mock?.stop();
  await proxy?.stop();
});

async function type(id, text) {
  const el = await find(driver, id);
  await el.clear();
  await el.sendKeys(text);
}

const text = (el) => el.getAttribute('textContent');

/** Queues a file with the CLI; the window's engine uploads it. Resolves to its job when done. */
async function upload(name, bytes) {
  const file = writeRandomFile(name, bytes);
  const id = Number(ferry(dataDir, ['upload', file.path, '--account', 'xf']).trim());
  const job = await until(`${name} uploaded`, () => {
    const j = ferry(dataDir, ['queue', '--json']).split('\n').filter(Boolean).map(JSON.parse).find((j) => j.id === id);
    assert.notEqual(j?.state, 'failed', JSON.stringify(j));
    return j?.state === 'done' && j;
  }, 120000);
  const object = (await mock.state()).objects.find((o) => o.size === bytes);
  assert.equal(object?.sha1_hex, file.sha1, `the bytes of ${name} at the mock are the file`);
  return job;
}

test('a custom proxy saved in Settings carries the window’s uploads, with its credentials', async () => {
  driver = await openApp();
  await (await find(driver, 'nav-settings')).click();
  assert.equal(await (await find(driver, 'proxy-mode-system')).isSelected(), true, 'System is the default');
  await (await find(driver, 'proxy-mode-custom')).click();
  await type('proxy-url', `http://127.0.0.1:${proxy.port}`);
  await type('proxy-user', USER);
  await type('proxy-password', PASSWORD);
  await (await find(driver, 'proxy-save')).click();
  await until('saved', async () => /Proxy saved/.test(await text(await find(driver, 'proxy-notice'))));
  assert.equal(ferry(dataDir, ['config', 'get', 'proxy']).trim(), `http://127.0.0.1:${proxy.port}`);
  const password = await find(driver, 'proxy-password');
  assert.equal(await password.getAttribute('value'), '', 'the password is not shown back');
  assert.equal(await password.getAttribute('placeholder'), 'stored in system keyring');
  assert.ok(!(await driver.getPageSource()).includes(PASSWORD), 'the password is not in the page');

  await upload('through-proxy.bin', 7 * MiB);
  console.log(`# through the proxy: ${proxy.stats.relayed} requests, ${proxy.stats.bytesUp} bytes up, ${proxy.stats.refused} refused`);
  assert.ok(proxy.stats.relayed >= 4, 'init, two slices and complete went through the proxy');
  assert.ok(proxy.stats.bytesUp >= 7 * MiB, 'the file’s bytes went through the proxy');
  assert.equal(proxy.stats.refused, 0);
  assert.deepEqual([...proxy.stats.auth], [`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`]);
  assert.ok(keyringItems().includes(PASSWORD), 'the password is in the keyring');
  for (const bytes of sqliteBytes(dataDir)) assert.equal(bytes.indexOf(Buffer.from(PASSWORD)), -1, 'not in SQLite');
});

test('None takes the next upload straight to the provider, without a restart', async () => {
  const before = proxy.stats.relayed;
  await (await find(driver, 'proxy-mode-none')).click();
  await (await find(driver, 'proxy-save')).click();
  await until('saved', async () => /Proxy saved/.test(await text(await find(driver, 'proxy-notice'))));
  assert.equal(ferry(dataDir, ['config', 'get', 'proxy']).trim(), 'none');
  await upload('direct.bin', 6 * MiB);
  assert.equal(proxy.stats.relayed, before, 'nothing more went through the proxy');
  assert.ok(!keyringItems().includes(PASSWORD), 'None forgets the credentials');
});
