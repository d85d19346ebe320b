/** Task outcomes other than success, thrown by handlers and mapped by the worker. */
abstract class TaskOutcome extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Transient: retried with backoff until max_attempts (SMTP 4xx, timeouts, connection drops). */
export class RetryableError extends TaskOutcome {}

/** Will never succeed (missing template value, bad data): fails the task now, without retrying. */
export class PermanentError extends TaskOutcome {}

/** The worker is shutting down: hand the task back untouched. */
export class ReleasedError extends TaskOutcome {}

/** Not now: run again at `until` without spending an attempt (outside the window, over the cap, mailbox paused). */
export class SnoozeError extends TaskOutcome {
  constructor(
    readonly until: Date,
    readonly reason: string,
  ) {
    super(`snoozed until ${until.toISOString()}: ${reason}`);
  }
}
