import * as campaigns from '../../routes/v1/campaigns/schema.js';
import * as companies from '../../routes/v1/companies/schema.js';
import * as imports from '../../routes/v1/imports/schema.js';
import * as mailboxes from '../../routes/v1/mailboxes/schema.js';
import * as organisations from '../../routes/v1/organisations/schema.js';
import * as people from '../../routes/v1/people/schema.js';
import * as positions from '../../routes/v1/positions/schema.js';
import * as privacy from '../../routes/v1/privacy/schema.js';
import { ProblemSchema, Provenance } from '../schemas.js';
import { named } from './components.js';

/**
 * Every object schema a route folder's schema.ts exports is a component of the document, named
 * after its export (only those used by a body or a response appear). A new schema.ts joins here;
 * a schema defined elsewhere can be named with `named({ Thing })` beside its definition.
 */
const EXCLUDED = new Set([
  'ImportHeaders',
  'ErrorsQuery',
  'SubjectQuery',
  'OrganisationParams',
  'MemberParams',
]);

function schemasOf(module: Record<string, unknown>): Record<string, object> {
  return Object.fromEntries(
    Object.entries(module).filter(
      ([name, value]) =>
        !EXCLUDED.has(name) &&
        typeof value === 'object' &&
        value !== null &&
        ('type' in value || 'allOf' in value || 'anyOf' in value || 'oneOf' in value || 'enum' in value),
    ),
  ) as Record<string, object>;
}

named({ Problem: ProblemSchema, Provenance });
for (const module of [campaigns, companies, imports, mailboxes, organisations, people, positions, privacy]) {
  named(schemasOf(module));
}
