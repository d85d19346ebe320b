import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '@prospectflow/auth-core';
import { currentTenant } from '@prospectflow/tenant-context';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppOptions } from '../../../app.js';
import { ImportFailure } from '../../../imports/errors.js';
import { type CustomMapping, parseCustomMapping } from '../../../imports/mapping.js';
import { getImport, listImportErrors, type Tenant, touchImport } from '../../../imports/repository.js';
import { notFound, ProblemError } from '../../../lib/problem.js';
import { IdParams, ProblemSchema } from '../../../lib/schemas.js';
import { ErrorsQuery, ImportHeaders, ImportResource, ImportWithErrors, JsonImportBody } from './schema.js';
import { acceptImport, ImportRunner, releaseReservation, reserveKey, type Upload } from './service.js';
import { spoolToDisk } from './spool.js';

function limit(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const value = Number(env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

function tenant(): Tenant {
  const { organisationId, userId } = currentTenant();
  return { organisationId, userId: userId ?? null };
}

function mappingOf(value: unknown): CustomMapping {
  try {
    return parseCustomMapping(value);
  } catch (error) {
    if (error instanceof ImportFailure) throw new ProblemError(error.status, error.code, error.message);
    throw error;
  }
}

/**
 * Bulk imports. POST accepts multipart/form-data (a `file` part, optional `mapping` JSON part),
 * text/csv as the raw body, or JSON (an array of rows, or { rows, mapping }). Uploads are spooled
 * to disk while they arrive, checked (encoding, delimiter, header, mapping → 4xx) and imported in
 * the background: 202 with the import, then GET it for progress, counts and per-row errors.
 */
const imports: FastifyPluginAsyncTypebox<AppOptions> = async (fastify, opts) => {
  const env = (opts.config?.env ?? process.env) as Record<string, string | undefined>;
  const maxFileBytes = limit(env, 'IMPORT_MAX_FILE_BYTES', 1024 * 1024 * 1024);
  const spoolDir = env.IMPORT_SPOOL_DIR || join(tmpdir(), 'prospectflow-imports');
  const runner = new ImportRunner(fastify.db.pool, fastify.log);
  fastify.addHook('onClose', async () => {
    await runner.close();
  });

  await fastify.register(multipart, {
    limits: { fileSize: maxFileBytes, files: 1, fields: 5, fieldSize: 1024 * 1024, parts: 6 },
  });
  // Raw CSV bodies stay a stream; the handler spools them.
  fastify.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) =>
    done(null, payload),
  );

  async function readUpload(request: FastifyRequest): Promise<Upload> {
    const query = request.query as { mapping?: string; fileName?: string };
    if (request.isMultipart()) {
      let file: { path: string; remove: () => Promise<void>; fileName: string | null } | undefined;
      const fields: Record<string, string> = {};
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            if (file || part.fieldname !== 'file') {
              part.file.resume();
              throw new ProblemError(
                400,
                'unexpected_file',
                'Send exactly one file, in the part named "file".',
              );
            }
            const spooled = await spoolToDisk(part.file, spoolDir);
            file = { ...spooled, fileName: part.filename || null };
            if (part.file.truncated) {
              throw new ProblemError(413, 'file_too_large', `The file is larger than ${maxFileBytes} bytes.`);
            }
          } else {
            fields[part.fieldname] = String(part.value);
          }
        }
      } catch (error) {
        await file?.remove();
        const code = (error as { code?: string }).code;
        if (code === 'FST_REQ_FILE_TOO_LARGE') {
          throw new ProblemError(413, 'file_too_large', `The file is larger than ${maxFileBytes} bytes.`);
        }
        // Disk errors (ENOSPC…) are ours; anything else from busboy is a malformed body.
        if (error instanceof ProblemError || /^E[A-Z]+$/.test(code ?? '')) throw error;
        throw new ProblemError(
          400,
          'malformed_multipart',
          `The multipart body could not be read: ${(error as Error).message}`,
        );
      }
      if (!file) throw new ProblemError(400, 'file_required', 'The multipart body has no part named "file".');
      try {
        return { kind: 'csv', ...file, mapping: mappingOf(fields.mapping ?? query.mapping) };
      } catch (error) {
        await file.remove();
        throw error;
      }
    }
    if (request.body && typeof (request.body as Readable).pipe === 'function') {
      const mapping = mappingOf(query.mapping);
      const spooled = await spoolToDisk(request.body as Readable, spoolDir);
      return { kind: 'csv', ...spooled, fileName: query.fileName ?? null, mapping };
    }
    const body = request.body as unknown[] | { rows: unknown[]; mapping?: unknown; fileName?: string };
    if (Array.isArray(body))
      return { kind: 'json', rows: body, fileName: null, mapping: mappingOf(query.mapping) };
    return {
      kind: 'json',
      rows: body.rows,
      fileName: body.fileName ?? null,
      mapping: mappingOf(body.mapping),
    };
  }

  fastify.post(
    '',
    {
      preHandler: requireRole('member'),
      bodyLimit: limit(env, 'IMPORT_MAX_JSON_BYTES', 20 * 1024 * 1024),
      schema: {
        tags: ['imports'],
        summary: 'Start an import (multipart CSV, text/csv body, or JSON rows); 202, then poll GET',
        description:
          'CSV: `;`/`,`/tab detected, UTF-8 (BOM or not) or Latin-1/windows-1252, Pharow French headers mapped. ' +
          'Optional custom mapping (multipart part or `?mapping=` JSON): {"Source header": "field"}. ' +
          'Idempotency-Key: same key + same body → the same import (200); other body → 422; while the first upload is still arriving → 409.',
        headers: ImportHeaders,
        querystring: Type.Object({
          mapping: Type.Optional(
            Type.String({ maxLength: 100_000, description: 'JSON mapping (text/csv bodies)' }),
          ),
          fileName: Type.Optional(Type.String({ maxLength: 255 })),
        }),
        // Multipart and text/csv bodies are streams read by the handler; only JSON is validated here.
        body: { content: { 'application/json': { schema: JsonImportBody } } },
        response: {
          200: ImportResource,
          202: ImportResource,
          409: ProblemSchema,
          413: ProblemSchema,
          422: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const t = tenant();
      const key = request.headers['idempotency-key'] as string | undefined;
      const kind =
        request.isMultipart() || !request.headers['content-type']?.includes('json') ? 'csv' : 'json';
      const reservation = key ? await reserveKey(fastify.db.pool, t, key, kind) : undefined;
      let heartbeat: NodeJS.Timeout | undefined;
      if (reservation && 'reserved' in reservation) {
        const id = reservation.reserved.id;
        heartbeat = setInterval(() => void touchImport(fastify.db.pool, t, id).catch(() => {}), 10_000);
      }
      let upload: Upload;
      try {
        upload = await readUpload(request);
      } catch (error) {
        await releaseReservation(fastify.db.pool, t, reservation);
        throw error;
      } finally {
        clearInterval(heartbeat);
      }
      const accepted = await acceptImport(fastify.db.pool, runner, t, upload, reservation);
      reply.header('location', `/v1/imports/${accepted.record.id}`);
      if (accepted.replay) {
        reply.header('idempotent-replayed', 'true');
        return reply.code(200).send(accepted.record);
      }
      return reply.code(202).send(accepted.record);
    },
  );

  fastify.get(
    '/:id',
    {
      schema: {
        tags: ['imports'],
        summary: 'An import: status, progress, counts and a page of per-row errors (ordered by row)',
        headers: Type.Object({ 'x-organisation-id': Type.String({ format: 'uuid' }) }),
        params: IdParams,
        querystring: ErrorsQuery,
        response: { 200: ImportWithErrors },
      },
    },
    async (request) => {
      const t = tenant();
      const record = await getImport(fastify.db.pool, t, request.params.id);
      if (!record) throw notFound('The import');
      const errors = await listImportErrors(fastify.db.pool, t, record.id, {
        limit: request.query.errorsLimit ?? 50,
        cursor: request.query.errorsCursor ?? null,
      });
      return { ...record, errors };
    },
  );
};

export default imports;
