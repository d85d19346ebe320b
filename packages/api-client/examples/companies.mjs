// Lists the companies of your first organisation (creating one if you have none) through the typed client.
// With `pnpm dev` running (its API accepts access tokens, the token command's default), from the repository root:
//   API_URL=http://127.0.0.1:3000 API_TOKEN=$(pnpm --silent --filter @prospectflow/ingest-api token --email ada@example.com) \
//     node packages/api-client/examples/companies.mjs
import { createApiClient } from '@prospectflow/api-client';

const baseUrl = process.env.API_URL ?? 'http://127.0.0.1:3000';
const token = process.env.API_TOKEN;
if (!token) throw new Error('Set API_TOKEN (see the comment at the top of this file)');

const me = await createApiClient({ baseUrl, token }).GET('/v1/me');
if (me.error) throw new Error(`GET /v1/me: ${me.error.code} ${me.error.detail}`);
let organisationId = me.data.memberships[0]?.id;
if (!organisationId) {
  const created = await createApiClient({ baseUrl, token }).POST('/v1/organisations', {
    body: { name: 'Example' },
  });
  if (created.error) throw new Error(`POST /v1/organisations: ${created.error.code}`);
  organisationId = created.data.id;
}

const api = createApiClient({ baseUrl, token, organisationId });
const { data, error } = await api.GET('/v1/companies', { params: { query: { limit: 20 } } });
if (error) throw new Error(`GET /v1/companies: ${error.code} ${error.detail}`);
console.log(`${me.data.email}, organisation ${organisationId}: ${data.items.length} companies`);
for (const company of data.items) console.log(`- ${company.name} (${company.domain ?? 'no domain'})`);
