/**
 * Group commit for one-statement calls of one organisation: calls made while that organisation's
 * previous statement is on the wire (or in the same tick) go out together as one statement, one
 * round trip, one implicit transaction. A failed batch is retried one call at a time, so one bad
 * item never fails the others.
 */
export class OrgBatcher<A, R> {
  readonly #pending = new Map<string, { args: A; resolve: (r: R) => void; reject: (e: unknown) => void }[]>();
  readonly #busy = new Set<string>();

  constructor(
    /** Runs the calls of one organisation as one statement; results in the order of `items`. */
    private readonly run: (organisationId: string, items: A[]) => Promise<R[]>,
    private readonly maxBatch = 64,
  ) {}

  call(organisationId: string, args: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.#pending.get(organisationId);
      if (queue) queue.push({ args, resolve, reject });
      else this.#pending.set(organisationId, [{ args, resolve, reject }]);
      if (!this.#busy.has(organisationId)) {
        this.#busy.add(organisationId);
        // Calls made in this tick join the first statement.
        setImmediate(() => this.#flush(organisationId));
      }
    });
  }

  #flush(organisationId: string): void {
    const queue = this.#pending.get(organisationId);
    if (!queue || queue.length === 0) {
      this.#pending.delete(organisationId);
      this.#busy.delete(organisationId);
      return;
    }
    const batch = queue.splice(0, this.maxBatch);
    if (queue.length === 0) this.#pending.delete(organisationId);
    this.#runBatch(organisationId, batch).finally(() => this.#flush(organisationId));
  }

  async #runBatch(
    organisationId: string,
    batch: { args: A; resolve: (r: R) => void; reject: (e: unknown) => void }[],
  ): Promise<void> {
    try {
      const results = await this.run(
        organisationId,
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
          const [result] = await this.run(organisationId, [b.args]);
          b.resolve(result!);
        } catch (e) {
          b.reject(e);
        }
      }
    }
  }
}
