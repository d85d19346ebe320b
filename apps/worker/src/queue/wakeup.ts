/**
 * The claim loop's sleep: it waits for a wake-up (a free slot, NOTIFY, stop) or the poll interval,
 * whichever comes first. A wake-up that arrives while the loop is busy is remembered, never lost.
 */
export class Wakeup {
  #resolve: (() => void) | undefined;
  #woken = false;

  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    if (resolve) resolve();
    else this.#woken = true;
  }

  /** Forgets wake-ups so far: the loop is about to look at the queue anyway. */
  clear(): void {
    this.#woken = false;
  }

  async wait(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#resolve = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
  }
}

/** Runs `fn` every `ms` (never two at once; errors go to `onError`); returns the timer. */
export function every(
  ms: number,
  fn: () => Promise<void>,
  onError: (error: unknown) => void,
): NodeJS.Timeout {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    fn()
      .catch(onError)
      .finally(() => {
        busy = false;
      });
  }, ms);
  timer.unref();
  return timer;
}
