// The accounts and provider specs the pages share, loaded through api.ts.
import { writable } from 'svelte/store';
import * as api from './api';
import type { Account, ProviderSpec } from './api';

/** `null` until first loaded. */
export const accounts = writable<Account[] | null>(null);
export const specs = writable<ProviderSpec[] | null>(null);

export async function refreshAccounts(): Promise<Account[]> {
  const list = await api.listAccounts();
  accounts.set(list);
  return list;
}

export async function loadSpecs(): Promise<ProviderSpec[]> {
  const list = await api.providerSpecs();
  specs.set(list);
  return list;
}
