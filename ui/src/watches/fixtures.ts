// Watches as `listWatches` sends them, for the tests of this folder.
import type { Account, Watch } from '../lib/api';

export const DISK_ACCOUNT: Account = {
  id: 3,
  name: 'disk',
  provider: 'local',
  endpoint: null,
  settings: { root: '/srv/backup' },
  secret_keys: [],
  created_at: 1_700_000_200,
};

/** A watch that is watching; override what the test is about. */
export function watchView(id: number, over: Partial<Watch> = {}): Watch {
  return {
    id,
    dir: `/home/me/watched-${id}`,
    recursive: true,
    account_id: DISK_ACCOUNT.id,
    account: DISK_ACCOUNT.name,
    dest: '',
    include: [],
    exclude: [],
    after: { kind: 'keep' },
    quiet_secs: 3,
    enabled: true,
    status: 'watching',
    detail: '12 files in 3 folders; 3 of 65536 inotify watches',
    notes: [
      { note: 'scanned', files: 12, folders: 3 },
      { note: 'live_watches', used: 3, limit: 65536 },
    ],
    pending: 0,
    queued: 0,
    ...over,
  };
}
