// One run at a time: how the window re-reads something on every change event without ever
// reading it twice at once, nor missing a change that came in while it was reading.

/**
 * Wraps `work` so runs never overlap: a call while one runs makes exactly one more run after
 * it, however many calls came. Each call resolves when the runs it caused are over.
 */
export function coalesced(work: () => Promise<unknown>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await work();
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };
}
