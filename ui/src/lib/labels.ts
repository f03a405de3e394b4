// Translated names for things the Rust side names by key: providers, settings, choices,
// error kinds. An unknown key (a setting added on the Rust side before its translation)
// falls back to the raw key rather than showing nothing.
import type { ErrorKind, ProviderKind } from './api';
import { isMessageKey, type Translate } from './i18n';

function orRaw(t: Translate, key: string, raw: string): string {
  return isMessageKey(key) ? t(key) : raw;
}

export const providerName = (t: Translate, kind: ProviderKind): string => orRaw(t, `provider.${kind}`, kind);

export const settingLabel = (t: Translate, key: string): string => orRaw(t, `setting.${key}.label`, key);

export const settingHelp = (t: Translate, key: string): string => orRaw(t, `setting.${key}.help`, '');

export const choiceLabel = (t: Translate, key: string, value: string): string =>
  orRaw(t, `choice.${key}.${value}`, value);

export const errorKindName = (t: Translate, kind: ErrorKind): string => orRaw(t, `error.kind.${kind}`, kind);

/** What the user can do about a job's error, by its kind (unknown kinds get general advice). */
export const adviceFor = (t: Translate, kind: string | null): string =>
  kind !== null && isMessageKey(`advice.${kind}`) ? t(`advice.${kind}`) : t('advice.other');

export const stateName = (t: Translate, state: string): string => orRaw(t, `state.${state}`, state);

/** Whether a provider keeps folders (iFlytek stores files without a path). */
export const hasFolders = (kind: ProviderKind | undefined): boolean => kind !== 'xfyun';
