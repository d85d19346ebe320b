import { Type } from 'typebox';
import { crudRoutes } from '../../../lib/crud-routes.js';
import { Uuid } from '../../../lib/schemas.js';
import { FieldErrors, normalisePhone, normaliseUrl, presentFields } from '../../../lib/validation.js';
import { NAME_REQUIRED, peopleRepository } from '../../../repositories/people.js';
import { Person, PersonCreate, PersonPatch } from './schema.js';

function normalise(input: Record<string, unknown>, mode: 'create' | 'patch'): Record<string, unknown> {
  const errors = new FieldErrors();
  const out: Record<string, unknown> = { ...input };
  presentFields(input, out, ['firstName', 'lastName', 'phone', 'linkedinUrl', 'location', 'pharowPersonId']);
  if (mode === 'create' && !out.firstName && !out.lastName) {
    errors.add('lastName', 'name_required', NAME_REQUIRED);
  }
  if (typeof out.phone === 'string') out.phone = normalisePhone(out.phone, errors);
  if (typeof out.linkedinUrl === 'string')
    out.linkedinUrl = normaliseUrl(out.linkedinUrl, errors, 'linkedinUrl');
  errors.throwIfAny();
  return out;
}

export default crudRoutes({
  path: '/v1/people',
  tags: ['crm'],
  repository: peopleRepository,
  schemas: {
    item: Person,
    create: PersonCreate,
    patch: PersonPatch,
    filters: {
      name: Type.Optional(
        Type.String({ minLength: 1, maxLength: 200, description: 'first, last or full name contains' }),
      ),
      email: Type.Optional(
        Type.String({ format: 'email', maxLength: 320, description: 'email of one of their positions' }),
      ),
      companyId: Type.Optional(Uuid),
    },
  },
  summaries: {
    create: 'Create a person (409 with existingId when the Pharow id is taken)',
    list: 'List people (cursor pagination; filters name, email, companyId)',
    get: 'One person',
    patch: 'Change some fields of a person (null clears an optional field)',
    delete: 'Delete a person and their positions',
  },
  normalise,
});
