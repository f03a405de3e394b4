// The "Add watched folder" form's logic, apart from its markup: starting values, the
// checks made before asking the Rust side, and turning the values into a WatchInput.
import type { Account, AfterUpload, UiError, WatchInput } from '../lib/api';
import type { MessageKey } from '../lib/i18n';

export type AfterKind = AfterUpload['kind'];

export type WatchFormValues = {
  dir: string;
  account: string;
  dest: string;
  /** As typed: patterns separated by commas or new lines. */
  include: string;
  exclude: string;
  /** As typed; a whole number of seconds once checked. */
  quiet: string;
  after: AfterKind;
  /** The folder uploaded files are moved into, when `after` is 'move'. */
  moveDir: string;
  recursive: boolean;
};

/** The form's fields; the Rust side's field names map onto them (see `errorField`). */
export type WatchField = 'dir' | 'account' | 'dest' | 'include' | 'exclude' | 'quiet' | 'after';

export type WatchFieldErrors = Partial<Record<WatchField, string>>;

/** The engine's default quiet period (watch/mod.rs `DEFAULT_QUIET_SECS`). */
export const DEFAULT_QUIET_SECS = 3;
/** The engine accepts 1 to 3600 seconds. */
export const QUIET_MIN = 1;
export const QUIET_MAX = 3600;

/** A blank form: the first account chosen, sub-folders included, files kept, the quiet
 *  period of Settings. */
export function emptyWatchValues(accounts: readonly Account[] | null, quietSecs = DEFAULT_QUIET_SECS): WatchFormValues {
  return {
    dir: '',
    account: accounts?.[0]?.name ?? '',
    dest: '',
    include: '',
    exclude: '',
    quiet: String(quietSecs),
    after: 'keep',
    moveDir: '',
    recursive: true,
  };
}

/**
 * Patterns typed one per line or separated by commas, trimmed, empty ones and repeats
 * left out. A comma inside `{…}` or `[…]` belongs to the pattern (`*.{jpg,png}` is one
 * glob), so only commas outside them separate.
 */
export function parsePatterns(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let braces = 0;
  let inClass = false;
  const flush = () => {
    const p = current.trim();
    if (p !== '' && !out.includes(p)) out.push(p);
    current = '';
    braces = 0;
    inClass = false;
  };
  for (const ch of text) {
    if (ch === '\n' || ch === '\r') {
      flush();
      continue;
    }
    if (ch === ',' && braces === 0 && !inClass) {
      flush();
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') inClass = true;
    else if (ch === '{') braces += 1;
    else if (ch === '}' && braces > 0) braces -= 1;
    current += ch;
  }
  flush();
  return out;
}

/** The quiet period as a whole number of seconds in range, or the message key saying what is wrong. */
export function parseQuiet(text: string): { ok: true; secs: number } | { ok: false; error: MessageKey } {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return { ok: false, error: 'watches.errorQuiet' };
  const secs = Number(trimmed);
  if (secs < QUIET_MIN || secs > QUIET_MAX) return { ok: false, error: 'watches.errorQuiet' };
  return { ok: true, secs };
}

/**
 * What must be fixed before the form is sent, as message keys by field. The Rust side
 * checks the rest (an absolute path that exists, valid globs, a move folder outside the
 * watched one) and names the field in its error.
 */
export function checkWatchValues(values: WatchFormValues): Partial<Record<WatchField, MessageKey>> {
  const errors: Partial<Record<WatchField, MessageKey>> = {};
  if (values.dir.trim() === '') errors.dir = 'watches.errorDir';
  if (values.account === '') errors.account = 'watches.errorAccount';
  const quiet = parseQuiet(values.quiet);
  if (!quiet.ok) errors.quiet = quiet.error;
  if (values.after === 'move' && values.moveDir.trim() === '') errors.after = 'watches.errorMoveDir';
  return errors;
}

export function afterFromValues(values: WatchFormValues): AfterUpload {
  if (values.after === 'move') return { kind: 'move', dir: values.moveDir.trim() };
  return { kind: values.after };
}

/** The WatchInput for checked values (see `checkWatchValues`). */
export function buildWatchInput(values: WatchFormValues): WatchInput {
  const quiet = parseQuiet(values.quiet);
  return {
    dir: values.dir.trim(),
    account: values.account,
    dest: values.dest.trim().replace(/^\/+|\/+$/g, ''),
    include: parsePatterns(values.include),
    exclude: parsePatterns(values.exclude),
    after: afterFromValues(values),
    quiet_secs: quiet.ok ? quiet.secs : DEFAULT_QUIET_SECS,
    recursive: values.recursive,
  };
}

const FIELD_OF: Record<string, WatchField> = {
  dir: 'dir',
  account: 'account',
  dest: 'dest',
  include: 'include',
  exclude: 'exclude',
  after: 'after',
  quiet_secs: 'quiet',
};

/** The form field a UiError is about; `null` sends it to the page's banner. */
export function errorField(error: UiError): WatchField | null {
  return error.field !== null ? (FIELD_OF[error.field] ?? null) : null;
}

/** The Rust side may prefix the message with "field: "; next to the field itself that is noise. */
export function fieldMessage(error: UiError): string {
  const prefix = `${error.field}: `;
  return error.field !== null && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}
