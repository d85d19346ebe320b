import { ORGANISATION_HEADER } from '@prospectflow/contracts';
import { AuthError } from './errors.js';

export { ORGANISATION_HEADER };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The organisation a request asks for: exactly one `x-organisation-id` header holding one uuid.
 * Repeated headers (which Node would join with ", ") and comma lists are refused, not guessed at.
 */
export function readOrganisationId(rawHeaders: readonly string[]): string {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === ORGANISATION_HEADER) values.push(rawHeaders[i + 1]!);
  }
  if (values.length === 0 || (values.length === 1 && values[0]!.trim() === '')) {
    throw new AuthError('organisation_required', 'Choose an organisation with the x-organisation-id header.');
  }
  if (values.length > 1)
    throw new AuthError('organisation_id_malformed', 'Send exactly one x-organisation-id header.');
  const value = values[0]!;
  if (!UUID.test(value))
    throw new AuthError('organisation_id_malformed', 'x-organisation-id must be one organisation uuid.');
  return value.toLowerCase();
}
