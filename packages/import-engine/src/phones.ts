import { phone, presentValue } from '@prospectflow/field-rules';

const CACHE_LIMIT = 50_000;

/** field-rules' `phone`, remembered per import: files repeat the same company numbers. */
export class PhoneNormaliser {
  #cache = new Map<string, string | null>();

  e164(raw: string | null | undefined): string | null {
    const value = presentValue(raw);
    if (value === null) return null;
    let stored = this.#cache.get(value);
    if (stored === undefined) {
      const outcome = phone(value);
      stored = outcome.ok ? outcome.value : null;
      if (this.#cache.size < CACHE_LIMIT) this.#cache.set(value, stored);
    }
    return stored;
  }
}
