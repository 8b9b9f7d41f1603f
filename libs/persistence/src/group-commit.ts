/**
 * Group commit: items submitted while earlier batches are being written are gathered into
 * the next batch, which is written in one transaction (ADR 0008). No timer waits for a batch
 * to fill: an idle planner writes a lone result at once; a busy one writes the results that
 * arrived during its previous transaction together, so the number of transactions, round
 * trips and socket writes grows with the load far slower than the number of results.
 */
export class GroupCommit<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    /** Writes a batch; settles each item, in order (a batch may fail some items and not others). */
    private readonly write: (items: T[]) => Promise<Array<PromiseSettledResult<R>>>,
    private readonly options: { maxBatch: number; maxInFlight: number },
  ) {}

  /** Items waiting for a batch, and batches being written: how far behind the writer is. */
  get backlog(): number {
    return this.queue.length + this.inFlight;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // Items that arrive in the same turn of the event loop (one pull's messages) share a batch.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.write(batch.map((b) => b.item))
        .then(
          (outcomes) =>
            batch.forEach((b, i) => {
              const outcome = outcomes[i];
              if (outcome?.status === 'fulfilled') b.resolve(outcome.value);
              else b.reject(outcome ? outcome.reason : new Error('the batch returned no outcome for this item'));
            }),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
