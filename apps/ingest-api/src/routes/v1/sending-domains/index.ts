import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  checkDomainProof,
  dkimSecretBinding,
  generateDkimKey,
  newProofToken,
  normaliseDomain,
  proofRecord,
} from '@prospectflow/mailboxes';
import { Type } from 'typebox';
import { named } from '../../../lib/openapi/components.js';
import { conflict, notFound, unprocessable } from '../../../lib/problem.js';
import { created } from '../../../lib/replies.js';
import { MANAGE, READ } from '../../../lib/role-policy.js';
import { IdParams, Items } from '../../../lib/schemas.js';
import { type SendingDomainRow, sendingDomainsRepository } from '../../../repositories/sending-domains.js';

const DnsRecord = Type.Object({ name: Type.String(), type: Type.Literal('TXT'), value: Type.String() });
const SendingDomain = Type.Object({
  id: Type.String(),
  domain: Type.String(),
  verifiedAt: Type.Union([Type.String(), Type.Null()]),
  lastCheckedAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  proof: DnsRecord,
  dkim: Type.Object({ selector: Type.String(), record: DnsRecord }),
  createdAt: Type.String(),
});

named({ SendingDomain, DnsRecord });

/** The records to publish: the ownership proof and the DKIM public key (the private key never leaves). */
function view(row: SendingDomainRow) {
  return {
    id: row.id,
    domain: row.domain,
    verifiedAt: row.verifiedAt,
    lastCheckedAt: row.lastCheckedAt,
    lastError: row.lastError,
    proof: proofRecord(row.domain, row.proofToken),
    dkim: {
      selector: row.dkimSelector,
      record: {
        name: `${row.dkimSelector}._domainkey.${row.domain}`,
        type: 'TXT' as const,
        value: row.dkimPublicKey,
      },
    },
    createdAt: row.createdAt,
  };
}

/**
 * Domains proved in DNS: only their addresses may send through the platform relay (SMTP_URL),
 * signed with the domain's own DKIM key. Admins manage them, like mailboxes.
 */
const sendingDomains: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['outreach'];
  const repository = sendingDomainsRepository(fastify.db);
  /** One of the organisation's domains, or 404 (never whether the id exists elsewhere). */
  const domainOr404 = async (id: string): Promise<SendingDomainRow> => {
    const row = await repository.get(id);
    if (!row) throw notFound('Sending domain');
    return row;
  };
  fastify.post(
    '',
    {
      config: { ...MANAGE, problems: { 409: ['domain_exists'], 422: ['invalid_domain'] } },
      schema: {
        tags,
        summary: 'Add a domain: returns the TXT records to publish (ownership proof, DKIM key)',
        body: Type.Object(
          // Bounds the input only: normaliseDomain checks the 253 characters after trimming.
          { domain: Type.String({ minLength: 3, maxLength: 300 }) },
          { additionalProperties: false },
        ),
        response: { 201: SendingDomain },
      },
    },
    async (request, reply) => {
      let domain: string;
      try {
        domain = normaliseDomain(request.body.domain);
      } catch {
        throw unprocessable('invalid_domain', `"${request.body.domain}" is not a domain name.`);
      }
      if ((await repository.list()).some((d) => d.domain === domain))
        throw conflict('domain_exists', `${domain} is already added.`);
      const id = repository.newId();
      const key = generateDkimKey(domain);
      const sealed = await fastify
        .secretBox()
        .seal(key.privateKeyPem, dkimSecretBinding(repository.organisationId(), id));
      const row = await repository.create(id, domain, newProofToken(), {
        selector: key.selector,
        publicKey: key.recordValue,
        sealed,
      });
      return created(reply, `/v1/sending-domains/${id}`, view(row));
    },
  );
  fastify.get(
    '',
    {
      config: READ,
      schema: {
        tags,
        summary: 'List sending domains',
        response: { 200: Items(SendingDomain) },
      },
    },
    async () => ({ items: (await repository.list()).map(view) }),
  );
  fastify.get(
    '/:id',
    {
      config: READ,
      schema: {
        tags,
        summary: 'Get a sending domain',
        params: IdParams,
        response: { 200: SendingDomain },
      },
    },
    async (request) => view(await domainOr404(request.params.id)),
  );
  fastify.post(
    '/:id/verify',
    {
      config: { ...MANAGE, problems: { 422: ['domain_not_proved'] } },
      schema: {
        tags,
        summary:
          'Look up the _prospectflow TXT record now; 422 domain_not_proved with what DNS answered. A proof DNS says is gone unproves the domain and withdraws its relay mailboxes (unverified); a failed lookup keeps it for up to 7 days since DNS last showed it',
        params: IdParams,
        response: { 200: SendingDomain },
      },
    },
    async (request) => {
      const row = await domainOr404(request.params.id);
      const result = await checkDomainProof(row.domain, row.proofToken, {
        servers: fastify.config.mail.dnsServers,
      });
      const updated = await repository.recordCheck(row.id, result);
      if (!result.proved && !updated?.verifiedAt)
        throw unprocessable('domain_not_proved', updated?.lastError ?? result.reason, {
          found: result.found,
          expected: proofRecord(row.domain, row.proofToken),
        });
      return view(updated!);
    },
  );
  fastify.delete(
    '/:id',
    {
      config: MANAGE,
      schema: {
        tags,
        summary:
          'Remove a sending domain; its relay mailboxes become unverified (campaigns cannot activate on them)',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      if (!(await repository.delete(request.params.id))) throw notFound('Sending domain');
      return reply.code(204).send(null);
    },
  );
};

export default sendingDomains;
