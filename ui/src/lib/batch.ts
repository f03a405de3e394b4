// When to notify: a job failed (at once), or a batch finished — the queue has nothing left
// to upload after some jobs were uploaded. Pure: jobs.ts feeds it, notices.ts words it.
import type { Transition } from './progress';

export type News =
  | { kind: 'failed'; id: number; name: string }
  | { kind: 'finished'; done: number; failed: number; bytes: number };

export class BatchWatcher {
  private done = 0;
  private failed = 0;
  private bytes = 0;

  /**
   * Takes the transitions just seen and how many jobs are still to be uploaded after them;
   * returns the news worth a notification.
   */
  observe(transitions: readonly Transition[], pending: number): News[] {
    const news: News[] = [];
    for (const tr of transitions) {
      if (tr.to === tr.from) continue;
      if (tr.to === 'done') {
        this.done += 1;
        this.bytes += tr.size;
      } else if (tr.to === 'failed') {
        this.failed += 1;
        news.push({ kind: 'failed', id: tr.id, name: tr.name });
      }
    }
    if (pending === 0 && this.done + this.failed > 0) {
      if (this.done > 0) news.push({ kind: 'finished', done: this.done, failed: this.failed, bytes: this.bytes });
      this.done = 0;
      this.failed = 0;
      this.bytes = 0;
    }
    return news;
  }
}
