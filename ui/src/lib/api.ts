// The one door to the Rust side. Components call these functions, never `commands`
// directly: each one returns the value or throws an `ApiError` carrying a `UiError`,
// and tests stub this module with `vi.mock`.
import {
  commands,
  type Account,
  type AccountInput,
  type ErrorKind,
  type ProviderSpec,
  type Result,
  type UiError,
} from './bindings';

export type { Account, AccountInput, ErrorKind, ProviderKind, ProviderSpec, SettingSpec, UiError } from './bindings';

/** A failed command. `error` is what the Rust side sent (kind, message, field). */
export class ApiError extends Error {
  readonly error: UiError;

  constructor(error: UiError) {
    super(error.message);
    this.name = 'ApiError';
    this.error = error;
  }

  get kind(): ErrorKind {
    return this.error.kind;
  }

  get field(): string | null {
    return this.error.field;
  }
}

function isUiError(value: unknown): value is UiError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.kind === 'string' &&
    typeof v.message === 'string' &&
    (v.field === null || v.field === undefined || typeof v.field === 'string')
  );
}

/**
 * Anything thrown or rejected, as a `UiError`: a `UiError` as is, an `ApiError`'s own,
 * and anything else (Tauri's plain-string rejections such as "command not found", a
 * `TypeError` when the page runs outside Tauri) as kind `internal` with its text.
 */
export function toUiError(e: unknown): UiError {
  if (e instanceof ApiError) return e.error;
  if (isUiError(e)) return { kind: e.kind, message: e.message, field: e.field ?? null };
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e) ?? String(e);
  return { kind: 'internal', message, field: null };
}

/** The value of an `ok` result; for an `error` one, throws an `ApiError`. */
export function unwrap<T>(result: Result<T, UiError>): T {
  if (result.status === 'ok') return result.data;
  throw new ApiError(toUiError(result.error));
}

/** Runs a command, turning every failure (a result's error or a throw) into an `ApiError`. */
async function call<T>(run: () => Promise<Result<T, UiError>>): Promise<T> {
  let result: Result<T, UiError>;
  try {
    result = await run();
  } catch (e) {
    throw new ApiError(toUiError(e));
  }
  return unwrap(result);
}

export async function providerSpecs(): Promise<ProviderSpec[]> {
  return call(async () => ({ status: 'ok', data: await commands.providerSpecs() }));
}

export function listAccounts(): Promise<Account[]> {
  return call(() => commands.listAccounts());
}

export function addAccount(input: AccountInput): Promise<Account> {
  return call(() => commands.addAccount(input));
}

export function updateAccount(name: string, input: AccountInput): Promise<Account> {
  return call(() => commands.updateAccount(name, input));
}

export async function removeAccount(name: string): Promise<void> {
  await call(() => commands.removeAccount(name));
}

/** Checks the account's credentials against its provider; resolves to the provider's answer. */
export function testAccount(name: string): Promise<string> {
  return call(() => commands.testAccount(name));
}
