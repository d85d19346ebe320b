/** Task outcomes other than success, thrown by handlers and mapped by the worker. */

/** Transient: retried with backoff until max_attempts (SMTP 4xx, timeouts, connection drops). */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

/** Will never succeed (missing template value, bad data): fails the task now, without retrying. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/** Not now: run again at `until` without spending an attempt (outside the window, over the cap, mailbox paused). */
export class SnoozeError extends Error {
  override name = 'SnoozeError';
  constructor(
    readonly until: Date,
    readonly reason: string,
  ) {
    super(`snoozed until ${until.toISOString()}: ${reason}`);
  }
}

/** The worker is shutting down: hand the task back untouched. */
export class ReleasedError extends Error {
  override name = 'ReleasedError';
}
