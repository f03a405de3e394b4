// Drives the real Ferry binary through tauri-driver (which runs WebKitWebDriver).
// One WebDriver session at a time; tauri-driver is stopped with SIGTERM so it stops its
// WebKitWebDriver child too (SIGKILL would leave port 4445 taken).
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';

export const APP = process.env.FERRY_BIN ?? path.resolve('target/debug/ferry');
export const DOCS = path.resolve(import.meta.dirname, '../../docs');
const PORT = 4444;

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function waitPort(port, open, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await portOpen(port)) === open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not become ${open ? 'open' : 'free'} in ${ms} ms`);
}

/** A fresh data dir for one test; the app finds it through FERRY_DATA_DIR. */
export function freshDataDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-e2e-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Starts tauri-driver with the given environment for the app. */
export async function startDriver(env) {
  await waitPort(4445, false);
  // Output goes to a log file, not to the test runner: an app the driver failed to close
  // would otherwise hold the runner's pipe open and the run would never end.
  const log = openSync(path.join(tmpdir(), `ferry-tauri-driver-${process.pid}.log`), 'a');
  const child = spawn('tauri-driver', ['--port', String(PORT)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
  });
  await waitPort(PORT, true);
  return {
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await waitPort(4445, false);
      // A window the driver left behind (its session was not closed) must not outlive the test.
      try {
        execFileSync('pkill', ['-TERM', '-f', `^${APP}$`]);
      } catch {
        /* none left: pkill exits 1 */
      }
      closeSync(log);
    },
  };
}

/** Opens the app (a new process) in a new WebDriver session. */
export async function openApp() {
  const driver = await new Builder()
    .usingServer(`http://127.0.0.1:${PORT}/`)
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application: APP } })
    .build();
  await driver.manage().setTimeouts({ implicit: 0 });
  await driver.wait(until.elementLocated(By.css('[data-testid="nav-accounts"]')), 20000);
  return driver;
}

export const byTestId = (id) => By.css(`[data-testid="${id}"]`);

export async function find(driver, id, ms = 10000) {
  return driver.wait(until.elementLocated(byTestId(id)), ms);
}

/** Every Secret Service item of Ferry's, as `secret-tool search` prints them. */
export function keyringItems() {
  try {
    return execFileSync('secret-tool', ['search', '--all', '--unlock', 'service', 'app.ferry.uploader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

/** The raw bytes of every SQLite file (db, WAL, shm) in a data dir. */
export function sqliteBytes(dataDir) {
  return readdirSync(dataDir)
    .filter((f) => f.startsWith('ferry.db'))
    .map((f) => readFileSync(path.join(dataDir, f)));
}

export async function screenshot(driver, name) {
  const png = await driver.takeScreenshot();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path.join(DOCS, name), Buffer.from(png, 'base64'));
}
