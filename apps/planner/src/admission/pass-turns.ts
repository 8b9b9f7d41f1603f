/**
 * Work per key that takes turns: while a run for a key is in progress, calls for that key ask
 * for one more run after it and share its outcome. Every call resolves once a run that began
 * after the call has finished, so nothing asked for is skipped, and a burst of calls costs
 * two runs, not one each.
 */
export class PassTurns<T> {
  private readonly current = new Map<string, { again: boolean; done: Promise<T[]> }>();

  /** Runs `work` for `key` now, or once more after the run in progress; resolves with the result of every run this call waited for. */
  run(key: string, work: () => Promise<T>): Promise<T[]> {
    const running = this.current.get(key);
    if (running) {
      running.again = true;
      return running.done;
    }
    const state = { again: false, done: Promise.resolve<T[]>([]) };
    state.done = (async () => {
      const results: T[] = [];
      try {
        do {
          state.again = false;
          results.push(await work());
        } while (state.again);
      } finally {
        this.current.delete(key);
      }
      return results;
    })();
    this.current.set(key, state);
    return state.done;
  }
}
