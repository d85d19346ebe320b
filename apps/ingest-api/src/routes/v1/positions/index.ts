import { Type } from 'typebox';
import { crudRoutes } from '../../../lib/crud-routes.js';
import { Uuid } from '../../../lib/schemas.js';
import { FieldErrors, normaliseEmail, normalisePhone, presentFields } from '../../../lib/validation.js';
import { refuseSuppressed } from '../../../privacy/suppression.js';
import { positionsRepository } from '../../../repositories/positions.js';
import { Position, PositionCreate, PositionPatch } from './schema.js';

function normalise(input: Record<string, unknown>): Record<string, unknown> {
  const errors = new FieldErrors();
  const out: Record<string, unknown> = { ...input };
  presentFields(input, out, ['email', 'phone', 'title', 'listName']);
  if (typeof out.email === 'string') out.email = normaliseEmail(out.email, errors);
  if (typeof out.phone === 'string') out.phone = normalisePhone(out.phone, errors);
  errors.throwIfAny();
  return out;
}

export default crudRoutes({
  path: '/v1/positions',
  tags: ['crm'],
  repository: positionsRepository,
  schemas: {
    item: Position,
    create: PositionCreate,
    patch: PositionPatch,
    filters: {
      email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
      domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'email domain' })),
      siren: Type.Optional(Type.String({ pattern: '^[0-9]{9}$', description: 'SIREN of the company' })),
      personId: Type.Optional(Uuid),
      companyId: Type.Optional(Uuid),
    },
  },
  summaries: {
    create: 'Create a position linking a person to a company (409 with existingId when the email is taken)',
    list: 'List positions (cursor pagination; filters email, domain, siren, personId, companyId)',
    get: 'One position',
    patch: 'Change some fields of a position (null clears an optional field)',
    delete: 'Delete a position',
  },
  normalise,
  // An erased or objecting person's address is never stored again (GDPR Art. 17/21).
  beforeWrite: async (values, { db, config }) => {
    if (typeof values.email !== 'string') return;
    const email = values.email;
    await db.tenant((client) => refuseSuppressed(client, config.subjectKeys, email));
  },
});
