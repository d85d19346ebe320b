/** What every rule answers: the stored (normal) form, or why the value is refused. */
export type Outcome = { ok: true; value: string } | { ok: false; code: string; message: string };

export const accept = (value: string): Outcome => ({ ok: true, value });
export const refuse = (code: string, message: string): Outcome => ({ ok: false, code, message });
