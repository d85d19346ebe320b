/** A start-up failure with its cause and the fix, printed as one clear message. */
export class DevStartError extends Error {
  constructor(
    readonly cause_: string,
    readonly fix: string,
  ) {
    super(`${cause_}\n  fix: ${fix}`);
    this.name = 'DevStartError';
  }
}
