/**
 * Group commit for one-statement calls under one key (an organisation, or one key for all): calls
 * made while that key's previous statement is on the wire (or in the same tick) go out together as
 * one statement, one round trip, one implicit transaction. A failed batch is retried one call at a
 * time, so one bad item never fails the others.
 */
export class KeyedBatcher<A, R> {
  readonly #pending = new Map<string, { args: A; resolve: (r: R) => void; reject: (e: unknown) => void }[]>();
  readonly #busy = new Set<string>();

  constructor(
    /** Runs the calls of one key as one statement; results in the order of `items`. */
    private readonly run: (key: string, items: A[]) => Promise<R[]>,
    private readonly maxBatch = 64,
  ) {}

  call(key: string, args: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.#pending.get(key);
      if (queue) queue.push({ args, resolve, reject });
      else this.#pending.set(key, [{ args, resolve, reject }]);
      if (!this.#busy.has(key)) {
        this.#busy.add(key);
        // Calls made in this tick join the first statement.
        setImmediate(() => this.#flush(key));
      }
    });
  }

  #flush(key: string): void {
    const queue = this.#pending.get(key);
    if (!queue || queue.length === 0) {
      this.#pending.delete(key);
      this.#busy.delete(key);
      return;
    }
    const batch = queue.splice(0, this.maxBatch);
    if (queue.length === 0) this.#pending.delete(key);
    this.#runBatch(key, batch).finally(() => this.#flush(key));
  }

  async #runBatch(
    key: string,
    batch: { args: A; resolve: (r: R) => void; reject: (e: unknown) => void }[],
  ): Promise<void> {
    try {
      const results = await this.run(
        key,
        batch.map((b) => b.args),
      );
      if (results.length !== batch.length)
        throw new Error(`batch returned ${results.length} results for ${batch.length} calls`);
      for (const [i, b] of batch.entries()) b.resolve(results[i]!);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One statement failed for all: run each call alone, so only the bad one fails.
      for (const b of batch) {
        try {
          const [result] = await this.run(key, [b.args]);
          b.resolve(result!);
        } catch (e) {
          b.reject(e);
        }
      }
    }
  }
}
