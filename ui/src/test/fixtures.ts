// The provider table as the Rust side sends it (src-tauri/engine/src/accounts/spec.rs).
import type { Account, EngineSettings, JobView, ProviderSpec, SettingSpec } from '../lib/api';

const s = (key: string, required: boolean, dflt: string | null = null, choices: string[] = []): SettingSpec => ({
  key,
  secret: false,
  required,
  default: dflt,
  choices,
  folder: false,
});
const secret = (key: string): SettingSpec => ({ key, secret: true, required: true, default: null, choices: [], folder: false });
const folder = (key: string, required: boolean, dflt: string | null = null): SettingSpec => ({ ...s(key, required, dflt), folder: true });

export const SPECS: ProviderSpec[] = [
  { kind: 'local', settings: [s('root', true)], default_endpoint: null, folders: true },
  {
    kind: 'xfyun',
    settings: [s('app_id', true), s('oneshot_max_bytes', false, '30000000'), secret('api_key'), secret('api_secret')],
    default_endpoint: 'https://upload-ost-api.xfyun.cn',
    folders: false,
  },
  {
    kind: 'dingtalk',
    settings: [
      s('app_key', true),
      s('union_id', true),
      s('space_id', true),
      folder('parent_id', false, '0'),
      s('conflict', false, 'AUTO_RENAME', ['AUTO_RENAME', 'OVERWRITE', 'RETURN_DENTRY_IF_EXISTS', 'RETURN_ERROR_IF_EXISTS']),
      secret('app_secret'),
    ],
    default_endpoint: 'https://api.dingtalk.com',
    folders: true,
  },
  {
    kind: 'feishu',
    settings: [s('app_id', true), folder('parent_node', true), s('parent_type', false, 'explorer'), secret('app_secret')],
    default_endpoint: 'https://open.feishu.cn',
    folders: true,
  },
  {
    kind: 'pds',
    settings: [
      s('domain_id', true),
      s('drive_id', true),
      folder('parent_file_id', false, 'root'),
      s('client_id', true),
      s('check_name_mode', false, 'auto_rename', ['auto_rename', 'ignore', 'refuse', 'overwrite']),
      s('upload_mode', false, 'serial', ['serial', 'parallel']),
      secret('client_secret'),
      secret('refresh_token'),
    ],
    default_endpoint: null,
    folders: true,
  },
];

export function spec(kind: ProviderSpec['kind']): ProviderSpec {
  const found = SPECS.find((x) => x.kind === kind);
  if (!found) throw new Error(`no spec ${kind}`);
  return found;
}

export const XFYUN_ACCOUNT: Account = {
  id: 1,
  name: 'voice',
  provider: 'xfyun',
  endpoint: null,
  settings: { app_id: 'app-123' },
  secret_keys: ['api_key', 'api_secret'],
  created_at: 1_700_000_000,
};

export const DINGTALK_ACCOUNT: Account = {
  id: 2,
  name: 'team',
  provider: 'dingtalk',
  endpoint: 'https://dt.example.test',
  settings: { app_key: 'ak', union_id: 'u1', space_id: 's1', parent_id: '0', conflict: 'OVERWRITE' },
  secret_keys: ['app_secret'],
  created_at: 1_700_000_100,
};

/** A job as `listJobs` sends it; override what the test is about. */
export function jobView(id: number, over: Partial<JobView> = {}): JobView {
  return {
    id,
    state: 'queued',
    file: `/home/me/files/file-${id}.bin`,
    name: `file-${id}.bin`,
    account: 'voice',
    dest: '',
    size: 40 * 1024 * 1024,
    bytes_acked: 0,
    parts_done: 0,
    parts_total: 0,
    attempts: 0,
    error_kind: null,
    error: null,
    result: null,
    sha1: null,
    bytes_sent: 0,
    next_run_at: 0,
    created_at: 1_700_000_000_000 + id,
    finished_at: null,
    ...over,
  };
}

export const SETTINGS: EngineSettings = {
  max_files: 3,
  parts_per_file: 4,
  bandwidth: 0,
  part_size: 8 * 1024 * 1024,
  retry_attempts: 6,
  retry_base_ms: 500,
  job_attempts: 3,
  quiet_secs: 3,
};

/** `listJobsPage` over a fixed list of jobs (in id order). */
export function pagesOf(jobs: JobView[]) {
  return async (afterId: number, limit: number): Promise<JobView[]> => {
    let lo = 0;
    let hi = jobs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (jobs[mid].id <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return jobs.slice(lo, lo + limit);
  };
}

type QueueApi = Pick<typeof import('../lib/api'), 'listJobsPage' | 'queueRevision' | 'queueChanges'>;
type Stubbed = { [K in keyof QueueApi]: { mockImplementation(f: QueueApi[K]): unknown } };

/**
 * The queue as the Rust side keeps it, for stubbing `listJobsPage`, `queueRevision` and
 * `queueChanges`: every put or remove takes the next revision (as the SQLite triggers do).
 */
export class FakeQueue {
  private rev = 0;
  private floor = 0;
  private rows = new Map<number, { view: JobView; rev: number }>();
  private removed = new Map<number, number>();

  constructor(jobs: JobView[] = []) {
    for (const j of jobs) this.put(j);
  }

  put(view: JobView): this {
    this.rev += 1;
    this.rows.set(view.id, { view, rev: this.rev });
    return this;
  }

  remove(id: number): this {
    if (this.rows.delete(id)) {
      this.rev += 1;
      this.removed.set(id, this.rev);
    }
    return this;
  }

  /** Forgets the tombstones, as an engine restart does: older readers must list again. */
  prune(): this {
    this.removed.clear();
    this.floor = this.rev;
    return this;
  }

  readonly revision = async () => this.rev;

  // Copies, as a reply over IPC is: the window owns what it gets.
  readonly page = async (afterId: number, limit: number) =>
    [...this.rows.values()]
      .map((r) => r.view)
      .filter((v) => v.id > afterId)
      .sort((a, b) => a.id - b.id)
      .slice(0, limit)
      .map((v) => structuredClone(v));

  readonly changes = async (since: number, limit: number) => {
    if (since < this.floor) return { rev: this.rev, jobs: [], removed: [], more: false, reset: true };
    const changed = [...this.rows.values()].filter((r) => r.rev > since).sort((a, b) => a.rev - b.rev);
    const more = changed.length > limit;
    const upto = more ? changed[limit].rev - 1 : this.rev;
    const jobs = changed.filter((r) => r.rev <= upto).map((r) => structuredClone(r.view)).sort((a, b) => a.id - b.id);
    const removed = [...this.removed].filter(([, rev]) => rev > since && rev <= upto).map(([id]) => id).sort((a, b) => a - b);
    return { rev: upto, jobs, removed, more, reset: false };
  };

  /** Makes the mocked api answer from this queue. */
  stub(m: Stubbed): this {
    m.listJobsPage.mockImplementation(this.page);
    m.queueRevision.mockImplementation(this.revision);
    m.queueChanges.mockImplementation(this.changes);
    return this;
  }
}
