// Helpers for the queue tests: the `ferry` CLI against a data dir, the iFlytek mock,
// random files, and waiting on the page.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { APP } from './harness.mjs';

export const MOCK = process.env.FERRY_MOCK_BIN ?? path.join(path.dirname(APP), 'ferry-mock');
export const MiB = 1024 * 1024;

/** Runs `ferry ARGS` headless against `dataDir`; throws with its output on failure. */
export function ferry(dataDir, args, input = '') {
  const r = spawnSync(APP, args, { env: { ...process.env, FERRY_DATA_DIR: dataDir }, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ferry ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Starts `ferry-mock xfyun` on a free port; resolves to { url, state(), stop() }. */
export function startXfyunMock({ appId = 'A', apiKey = 'K', apiSecret = 'S' } = {}) {
  const child = spawn(MOCK, ['xfyun', '--port', '0', '--app-id', appId, '--api-key', apiKey, '--api-secret', apiSecret], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the mock did not start: ${out}`)), 20000);
    child.once('exit', (code) => reject(new Error(`the mock exited ${code}: ${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const url = m[1];
      resolve({
        url,
        async state() {
          const res = await fetch(`${url}/__mock/state`);
          return res.json();
        },
        async stop() {
          if (child.exitCode !== null) return;
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        },
      });
    });
  });
}

/** Writes `bytes` random bytes to a new file; resolves to { path, sha1 }. */
export function writeRandomFile(name, bytes) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-e2e-src-'));
  const file = path.join(dir, name);
  const fd = openSync(file, 'w');
  const hash = createHash('sha1');
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(left, MiB));
    writeSync(fd, chunk);
    hash.update(chunk);
    left -= chunk.length;
  }
  closeSync(fd);
  return { path: file, sha1: hash.digest('hex') };
}

/** Polls `probe` until it returns a truthy value (returned), or throws `what` after `ms`. */
export async function until(what, probe, ms = 30000, every = 100) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Records the desktop notifications sent on the session bus (the
 * org.freedesktop.Notifications.Notify calls, whether or not a notification server runs).
 * Resolves once the monitor listens; `notices()` gives [{ summary, body }], oldest first.
 */
export async function watchNotifications() {
  const child = spawn('dbus-monitor', ['--session', "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  // The monitor says so on its own bus connection first (NameAcquired / NameLost).
  await until('dbus-monitor listening', () => out.includes('NameLost'), 10000, 50);
  return {
    notices() {
      return out
        .split(/^method call /m)
        .slice(1)
        .map((call) => [...call.matchAll(/^\s+string "(.*)"$/gm)].map((m) => m[1]))
        // Notify(app_name, replaces_id, app_icon, summary, body, …): the strings in order.
        .map(([, , summary, body]) => ({ summary, body }));
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}
