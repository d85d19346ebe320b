/**
 * Why a rule refuses a value: the code of the API's 422 and of an import's row error, listed with
 * its status in @prospectflow/contracts (RECORD_ERRORS; ingest-api's compiler checks the two agree).
 */
export type RefusalCode =
  | 'invalid_siren'
  | 'invalid_siret'
  | 'invalid_naf'
  | 'invalid_phone'
  | 'invalid_email'
  | 'invalid_url'
  | 'invalid_domain'
  | 'invalid_country';

/** What every rule answers: the stored (normal) form, or why the value is refused. */
export type Outcome = { ok: true; value: string } | { ok: false; code: RefusalCode; message: string };

export const accept = (value: string): Outcome => ({ ok: true, value });
export const refuse = (code: RefusalCode, message: string): Outcome => ({ ok: false, code, message });
