// The Accounts form's logic, apart from its markup: initial values, client-side
// required checks, and turning the values into the AccountInput the Rust side takes.
import type { Account, AccountInput, ProviderKind, ProviderSpec, SettingSpec, UiError } from './api';
import type { MessageKey } from './i18n';

export type FormValues = {
  name: string;
  provider: ProviderKind | '';
  endpoint: string;
  /** Non-secret settings by key. */
  settings: Record<string, string>;
  /** Secret settings by key: only ever what the user typed in this form, never a stored value. */
  secrets: Record<string, string>;
};

/** Errors by field: 'name', 'provider', 'endpoint' or a setting key. */
export type FieldErrors = Record<string, string>;

export function specOf(specs: readonly ProviderSpec[], kind: ProviderKind | ''): ProviderSpec | undefined {
  return specs.find((s) => s.kind === kind);
}

/** Blank values for `spec`'s fields; a select starts on its default choice. */
function blankSettings(spec: ProviderSpec | undefined): Pick<FormValues, 'settings' | 'secrets'> {
  const settings: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const s of spec?.settings ?? []) {
    if (s.secret) secrets[s.key] = '';
    else settings[s.key] = s.choices.length > 0 ? (s.default ?? s.choices[0] ?? '') : '';
  }
  return { settings, secrets };
}

export function emptyValues(spec?: ProviderSpec): FormValues {
  return { name: '', provider: spec?.kind ?? '', endpoint: '', ...blankSettings(spec) };
}

/** Keeps the name and endpoint, resets the settings to the new provider's. */
export function switchProvider(values: FormValues, spec: ProviderSpec | undefined): FormValues {
  return { ...values, provider: spec?.kind ?? '', ...blankSettings(spec) };
}

/** An existing account's values for editing: its settings, and every secret empty. */
export function valuesFromAccount(account: Account, spec: ProviderSpec | undefined): FormValues {
  const { settings, secrets } = blankSettings(spec);
  for (const [key, value] of Object.entries(account.settings)) {
    if (value !== undefined && !(key in secrets)) settings[key] = value;
  }
  return { name: account.name, provider: account.provider, endpoint: account.endpoint ?? '', settings, secrets };
}

/** True when a secret may be left empty: on edit, when the keyring already holds it. */
export function secretIsStored(s: SettingSpec, editing: Account | null): boolean {
  return editing !== null && editing.secret_keys.includes(s.key);
}

/** Whether the user must fill `s` in: required, with no default, and (for a secret) not already stored. */
export function mustFill(s: SettingSpec, editing: Account | null): boolean {
  if (!s.required) return false;
  return s.secret ? !secretIsStored(s, editing) : s.default === null;
}

/** The fields left empty that must be filled in, as message keys by field. */
export function missingFields(
  values: FormValues,
  spec: ProviderSpec | undefined,
  editing: Account | null,
): Record<string, MessageKey> {
  const errors: Record<string, MessageKey> = {};
  if (values.name.trim() === '') errors.name = 'form.required';
  if (!spec) {
    errors.provider = 'form.required';
    return errors;
  }
  for (const s of spec.settings) {
    const value = (s.secret ? values.secrets[s.key] : values.settings[s.key]) ?? '';
    if (mustFill(s, editing) && value.trim() === '') errors[s.key] = 'form.required';
  }
  return errors;
}

/**
 * The AccountInput for these values: non-secret settings under `settings`, secrets under
 * `secrets`, both limited to the provider's keys, with empty ones left out (an empty
 * secret on edit keeps the stored one). Values are trimmed: keys and IDs never start or
 * end with spaces, but pasted ones often do.
 */
export function buildInput(values: FormValues, spec: ProviderSpec): AccountInput {
  const settings: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const s of spec.settings) {
    const value = ((s.secret ? values.secrets[s.key] : values.settings[s.key]) ?? '').trim();
    if (value === '') continue;
    if (s.secret) secrets[s.key] = value;
    else settings[s.key] = value;
  }
  const endpoint = values.endpoint.trim();
  return { name: values.name.trim(), provider: spec.kind, endpoint: endpoint === '' ? null : endpoint, settings, secrets };
}

/** The fields a UiError can point at in this form. */
export function formFields(spec: ProviderSpec | undefined): string[] {
  return ['name', 'provider', 'endpoint', ...(spec?.settings.map((s) => s.key) ?? [])];
}

/**
 * The field `error` is about, if the form shows that field; `null` sends it to the banner.
 */
export function errorField(error: UiError, spec: ProviderSpec | undefined): string | null {
  return error.field !== null && formFields(spec).includes(error.field) ? error.field : null;
}

/** The Rust side says "field: message"; next to the field itself, the prefix is noise. */
export function fieldMessage(error: UiError): string {
  const prefix = `${error.field}: `;
  return error.field !== null && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}
