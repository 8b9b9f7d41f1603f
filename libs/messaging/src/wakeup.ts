/**
 * A single waiter's wake-up call: `wait()` resolves at the next `notify()` (at once if one
 * came since the last wait) or after `timeoutMs`. Lets a loop sleep without polling.
 */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  notify(): void {
    const resolve = this.resolve;
    if (resolve) resolve();
    else this.pending = true;
  }

  /** Forgets a notify nobody waited for (the caller is about to do what it asked for). */
  clear(): void {
    this.pending = false;
  }

  wait(timeoutMs?: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve();
      };
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
      this.resolve = done;
    });
  }
}
