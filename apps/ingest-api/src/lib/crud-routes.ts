import type { FastifyPluginAsync } from 'fastify';
import { type TObject, type TSchema, Type } from 'typebox';
import type { AppOptions } from '../app.js';
import type { AppConfig } from '../config.js';
import type { Database } from '../plugins/app/db.js';
import type { CrudRepository } from '../repositories/crud.js';
import { created } from './replies.js';
import { READ, WRITE } from './role-policy.js';
import { IdParams, Page, PageQuery } from './schemas.js';

type Values = Record<string, unknown>;

export interface CrudRoutesOptions {
  /** The collection's path, for `Location` headers (e.g. `/v1/companies`). */
  path: string;
  tags: string[];
  /** The area's repository, built once per app from its database. */
  repository: (db: Database) => CrudRepository<{ id: string }, object>;
  schemas: {
    item: TObject;
    create: TSchema;
    patch: TSchema;
    /** List filters (query parameters besides limit and cursor), handed to the repository. */
    filters: Record<string, TSchema>;
  };
  summaries: { create: string; list: string; get: string; patch: string; delete: string };
  /** Rules the schema cannot express (check digits, normal forms); throws 422 listing every problem. */
  normalise: (input: Values, mode: 'create' | 'patch') => Values;
  /** Checks that need the database or configuration (e.g. an erased address); throws a problem. */
  beforeWrite?: (values: Values, context: { db: Database; config: AppConfig }) => Promise<void>;
}

/**
 * The five routes of a CRM collection (companies, people, positions): create, list with cursor
 * pagination and filters, get, patch, delete. Reads need `viewer`, writes `member`.
 */
export function crudRoutes(options: CrudRoutesOptions): FastifyPluginAsync {
  const { path, tags, schemas, summaries, normalise } = options;
  return async (fastify, opts) => {
    const repository = options.repository(fastify.db);
    // A missing or other organisation's row is the resource's own 404 (company_not_found…).
    const problems = { 404: [repository.spec.notFoundCode] };
    const context = { db: fastify.db, config: (opts as AppOptions).config };
    const checked = async (values: Values) => {
      await options.beforeWrite?.(values, context);
      return values;
    };

    fastify.post(
      '',
      {
        config: WRITE,
        schema: {
          tags,
          summary: summaries.create,
          body: schemas.create,
          response: { 201: schemas.item },
        },
      },
      async (request, reply) => {
        const row = await repository.create(await checked(normalise(request.body as Values, 'create')));
        return created(reply, `${path}/${row.id}`, row);
      },
    );

    fastify.get(
      '',
      {
        config: READ,
        schema: {
          tags,
          summary: summaries.list,
          querystring: Type.Object({ ...PageQuery, ...schemas.filters }),
          response: { 200: Page(schemas.item) },
        },
      },
      async (request) => {
        const { limit = 50, cursor, ...filters } = request.query as { limit?: number; cursor?: string };
        return await repository.list({ limit, cursor, filters });
      },
    );

    fastify.get(
      '/:id',
      {
        config: { ...READ, problems },
        schema: {
          tags,
          summary: summaries.get,
          params: IdParams,
          response: { 200: schemas.item },
        },
      },
      async (request) => await repository.get((request.params as { id: string }).id),
    );

    fastify.patch(
      '/:id',
      {
        config: { ...WRITE, problems },
        schema: {
          tags,
          summary: summaries.patch,
          params: IdParams,
          body: schemas.patch,
          response: { 200: schemas.item },
        },
      },
      async (request) =>
        await repository.update(
          (request.params as { id: string }).id,
          await checked(normalise(request.body as Values, 'patch')),
        ),
    );

    fastify.delete(
      '/:id',
      {
        config: { ...WRITE, problems },
        schema: {
          tags,
          summary: summaries.delete,
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await repository.delete((request.params as { id: string }).id);
        return reply.code(204).send(null);
      },
    );
  };
}
