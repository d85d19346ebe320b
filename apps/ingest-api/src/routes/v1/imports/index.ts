import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  type CustomMapping,
  getImport,
  ImportFailure,
  listImportErrors,
  parseCustomMapping,
  type Tenant,
  touchImport,
} from '@prospectflow/import-engine';
import { createObjectStorage } from '@prospectflow/object-storage';
import { currentTenant } from '@prospectflow/tenant-context';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppOptions } from '../../../app.js';
import {
  acceptImport,
  type ImportQueue,
  type ReceivedCsv,
  releaseReservation,
  reserveKey,
  type Upload,
  type UploadTarget,
  uploadTarget,
} from '../../../imports/accept.js';
import { notFound, ProblemError } from '../../../lib/problem.js';
import { READ, WRITE } from '../../../lib/role-policy.js';
import { IdParams, ProblemSchema } from '../../../lib/schemas.js';
import { bodyTooLarge, declaredOver } from './byte-limit.js';
import { cameFromClient, receiveCsv } from './receive.js';
import {
  CsvImportBody,
  ErrorsQuery,
  ImportHeaders,
  ImportResource,
  ImportUpload,
  ImportWithErrors,
  JsonImportBody,
} from './schema.js';
import undoRoutes from './undo.js';

function tenant(): Tenant {
  const { organisationId, userId } = currentTenant();
  return { organisationId, userId: userId ?? null };
}

function asProblem(error: unknown): unknown {
  return error instanceof ImportFailure ? new ProblemError(error.status, error.code, error.message) : error;
}

function mappingOf(value: unknown): CustomMapping {
  try {
    return parseCustomMapping(value);
  } catch (error) {
    throw asProblem(error);
  }
}

/** Fields a multipart import body may carry besides its one file (`mapping` is the one read). */
const MAX_FIELDS = 5;

function moreThanOneFile(): ProblemError {
  return new ProblemError(
    400,
    'unexpected_file',
    'Send exactly one file, in the part named "file": this multipart body has another file part.',
  );
}

/**
 * Counts the raw bytes of a multipart request as they arrive. Over `maxBytes`, the request stream
 * reports the 413 to @fastify/multipart, which listens for the request's errors: it unpipes its
 * parser, fails the file part in flight with it (that upload is aborted) and rejects the next
 * part with it. Returns the function that stops counting.
 */
function countRawBody(request: FastifyRequest, maxBytes: number): () => void {
  const raw = request.raw;
  let seen = 0;
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen <= maxBytes) return;
    raw.removeListener('data', count);
    raw.emit('error', bodyTooLarge(maxBytes));
  };
  raw.on('data', count);
  return () => raw.removeListener('data', count);
}

function notImportable(): ProblemError {
  return new ProblemError(
    415,
    'unsupported_media_type',
    `Send the import as multipart/form-data (a "file" part), as a raw CSV body (${RAW_TYPES.join(', ')}) or as application/json rows.`,
  );
}

/** Raw bodies streamed to object storage as CSV (the same limit as every other import body). */
const RAW_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/octet-stream'];

/**
 * Bulk imports. POST accepts multipart/form-data (a `file` part, optional `mapping` JSON part),
 * text/csv (or any raw type above) as the body, or JSON (an array of rows, or { rows, mapping }). Uploads are
 * streamed straight into object storage while they arrive (never onto this host's disk), checked
 * on the way (byte limit; encoding, delimiter, header, mapping → 4xx, the upload aborted) and
 * queued: a worker imports them (202 with the queued import, then GET it for status, progress,
 * counts and per-row errors).
 */
const imports: FastifyPluginAsyncTypebox<AppOptions> = async (fastify, opts) => {
  // ONE byte limit for every import body, whatever its content type (config: IMPORT_MAX_BYTES).
  const { maxBytes } = opts.config.imports;
  // Accepted uploads go to object storage; a worker runs the import (apps/worker, run_import).
  const queue: ImportQueue = {
    storage: createObjectStorage(opts.config.imports.storage),
    maxAttempts: opts.config.imports.maxAttempts,
  };
  fastify.addHook('onClose', async () => {
    await queue.storage.close();
  });

  await fastify.register(multipart, {
    // One byte over the limit reaches the stream, so ByteLimit refuses it while it arrives.
    // The whole body counts against the limit (countRawBody), fields included; a field is never
    // buffered beyond the limit (nor beyond 1 MiB).
    limits: {
      fileSize: maxBytes + 1,
      files: 1,
      fields: MAX_FIELDS,
      fieldSize: Math.min(maxBytes + 1, 1024 * 1024),
      parts: MAX_FIELDS + 1,
    },
  });
  // Raw bodies stay a stream; the handler streams them to storage through the byte limit. A declared length
  // over the limit is refused before a byte is read. (This scope's text/plain is raw CSV too.)
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser(RAW_TYPES, (request, payload, done) => {
    if (declaredOver(request.headers['content-length'], maxBytes)) done(bodyTooLarge(maxBytes));
    else done(null, payload);
  });
  // Any other type cannot be imported (415), but a body already over the limit by its declared
  // length gets the one 413 of every import body, whatever its type. Nothing is read either way.
  fastify.addContentTypeParser('*', (request, _payload, done) => {
    done(
      declaredOver(request.headers['content-length'], maxBytes) ? bodyTooLarge(maxBytes) : notImportable(),
    );
  });

  /** Failures of the storage itself (S3 down, credentials…): 5xx, never the client's fault. */
  const storageFailures = new WeakSet<object>();

  /** Streams a CSV body into object storage; 4xx problems for what the probe refuses. */
  async function receive(
    target: UploadTarget,
    stream: Readable,
    mapping: CustomMapping | undefined,
  ): Promise<ReceivedCsv> {
    try {
      return await receiveCsv(queue.storage, tenant(), target, stream, { maxBytes, mapping });
    } catch (error) {
      const problem = asProblem(error);
      if (problem instanceof Error && !(problem instanceof ProblemError) && !cameFromClient(problem)) {
        storageFailures.add(problem);
      }
      throw problem;
    }
  }

  async function readUpload(request: FastifyRequest, target: UploadTarget): Promise<Upload> {
    const query = request.query as { mapping?: string; fileName?: string };
    if (request.isMultipart()) {
      let file: { received: ReceivedCsv; fileName: string | null } | undefined;
      const fields: Record<string, string> = {};
      const remove = async () => {
        if (file?.received.key) await queue.storage.delete(file.received.key).catch(() => {});
      };
      // The one limit holds for the whole body, not only the file part: fields, part headers,
      // preamble and epilogue count too. A declared length over it is refused before a byte is
      // read; otherwise the raw bytes are counted as they arrive (attached before the parser is
      // piped in, in this same tick, so no chunk is missed).
      if (declaredOver(request.headers['content-length'], maxBytes)) throw bodyTooLarge(maxBytes);
      const stopCounting = countRawBody(request, maxBytes);
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            if (file || part.fieldname !== 'file') {
              part.file.resume();
              throw moreThanOneFile();
            }
            // A mapping part sent before the file is checked against the header as it arrives.
            const known = fields.mapping === undefined ? undefined : mappingOf(fields.mapping);
            file = {
              received: await receive(target, part.file, known),
              fileName: part.filename || null,
            };
            if (part.file.truncated) throw bodyTooLarge(maxBytes);
          } else {
            // A field longer than fieldSize arrives cut short: it was over what is left anyway.
            if (part.valueTruncated) throw bodyTooLarge(maxBytes);
            fields[part.fieldname] = String(part.value);
          }
        }
      } catch (error) {
        await remove();
        const code = (error as { code?: string }).code;
        if (code === 'FST_REQ_FILE_TOO_LARGE') throw bodyTooLarge(maxBytes);
        if (code === 'FST_FILES_LIMIT') throw moreThanOneFile();
        if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT')
          throw new ProblemError(
            400,
            'malformed_multipart',
            `The multipart body has too many parts: send one part named "file" and at most ${MAX_FIELDS} fields (e.g. "mapping").`,
          );
        // Storage and socket errors (S3, ENOSPC, ECONNRESET…) are not the body's; anything else
        // from busboy is a malformed body.
        const ours = error instanceof Error && storageFailures.has(error);
        if (error instanceof ProblemError || ours || /^E[A-Z]+$/.test(code ?? '')) throw error;
        throw new ProblemError(
          400,
          'malformed_multipart',
          `The multipart body could not be read: ${(error as Error).message}`,
        );
      } finally {
        stopCounting();
      }
      if (!file) throw new ProblemError(400, 'file_required', 'The multipart body has no part named "file".');
      try {
        return { kind: 'csv', ...file, mapping: mappingOf(fields.mapping ?? query.mapping) };
      } catch (error) {
        await remove();
        throw error;
      }
    }
    if (request.body && typeof (request.body as Readable).pipe === 'function') {
      const mapping = mappingOf(query.mapping);
      const received = await receive(target, request.body as Readable, mapping);
      return { kind: 'csv', received, fileName: query.fileName ?? null, mapping };
    }
    const body = request.body as
      | unknown[]
      | { rows: unknown[]; mapping?: unknown; fileName?: string }
      | undefined;
    if (!body || typeof body !== 'object')
      throw new ProblemError(
        400,
        'body_required',
        'Send the rows as JSON, a text/csv body or a multipart file.',
      );
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
      config: WRITE,
      // JSON bodies: Fastify counts while reading and answers 413 body_too_large over the limit.
      bodyLimit: maxBytes,
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
        // Declared in the API document only (lib/openapi/document.ts): the handler streams these.
        streamedBodies: { 'multipart/form-data': ImportUpload, 'text/csv': CsvImportBody },
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
        upload = await readUpload(request, uploadTarget(reservation));
      } catch (error) {
        await releaseReservation(fastify.db.pool, t, reservation);
        // The rest of a refused body (over the limit, a header that cannot import, a failed
        // upload) is never read: end the connection after the answer.
        if (!request.raw.complete) reply.header('connection', 'close');
        throw error;
      } finally {
        clearInterval(heartbeat);
      }
      const accepted = await acceptImport(fastify.db.pool, queue, t, upload, reservation);
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
      config: { ...READ, problems: { 404: ['import_not_found'] } },
      schema: {
        tags: ['imports'],
        summary: 'An import: status, progress, counts and a page of per-row errors (ordered by row)',
        params: IdParams,
        querystring: ErrorsQuery,
        response: { 200: ImportWithErrors },
      },
    },
    async (request) => {
      const t = tenant();
      const record = await getImport(fastify.db.pool, t, request.params.id);
      if (!record) throw notFound('The import', 'import_not_found');
      const errors = await listImportErrors(fastify.db.pool, t, record.id, {
        limit: request.query.errorsLimit ?? 50,
        cursor: request.query.errorsCursor ?? null,
      }).catch((error: unknown) => {
        throw asProblem(error);
      });
      return { ...record, errors };
    },
  );

  // Not `opts`: its prefix is already this plugin's.
  await fastify.register(undoRoutes, { config: opts.config });
};

export default imports;
