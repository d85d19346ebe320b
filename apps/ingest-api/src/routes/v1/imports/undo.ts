import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UndoRefused } from '@prospectflow/import-engine';
import { currentTenant } from '@prospectflow/tenant-context';
import { Type } from 'typebox';
import type { AppOptions } from '../../../app.js';
import { ProblemError } from '../../../lib/problem.js';
import { WRITE } from '../../../lib/role-policy.js';
import { IdParams } from '../../../lib/schemas.js';
import { undoTenantImport } from '../../../repositories/import-undo.js';
import { ImportUndo } from './schema.js';

/**
 * DELETE /v1/imports/{id}: undo an import (CSV, JSON or SQLite) — its created rows deleted, its
 * updated rows restored — when nothing changed them since; `?dryRun=true` answers the plan.
 */
const undoRoutes: FastifyPluginAsyncTypebox<AppOptions> = async (fastify) => {
  fastify.delete(
    '/:id',
    {
      config: {
        ...WRITE,
        problems: {
          404: ['import_not_found'],
          409: ['import_undo_conflicts', 'import_not_finished', 'import_failed', 'import_already_undone'],
        },
      },
      schema: {
        tags: ['imports'],
        summary:
          'Undo an import: delete what it created, restore what it updated (dryRun=true: the plan only)',
        description:
          'One transaction. Refused with 409 `import_undo_conflicts` (listing `conflicts`, nothing changed) when a row ' +
          'it wrote was changed or deleted since, or something created since depends on a row it created; ' +
          '409 `import_not_finished` / `import_failed` / `import_already_undone`.',
        params: IdParams,
        querystring: Type.Object({
          dryRun: Type.Optional(
            Type.Boolean({ default: false, description: 'only answer what the undo would do' }),
          ),
        }),
        response: { 200: ImportUndo },
      },
    },
    async (request) => {
      const { organisationId, userId } = currentTenant();
      try {
        const report = await undoTenantImport(
          fastify.db.pool,
          { organisationId, userId: userId ?? null },
          request.params.id,
          request.query.dryRun ?? false,
        );
        if (report.conflicts.length > 0 && !report.dryRun) {
          throw new ProblemError(
            409,
            'import_undo_conflicts',
            `${report.conflicts.length} row(s) changed since the import or depend on it: nothing was undone`,
            { extensions: { conflicts: report.conflicts, tables: report.tables } },
          );
        }
        return report;
      } catch (error) {
        if (error instanceof UndoRefused) throw new ProblemError(error.status, error.code, error.message);
        throw error;
      }
    },
  );
};

export default undoRoutes;
