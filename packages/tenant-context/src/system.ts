import { currentScope, runInScope } from './context.js';
import { SystemScopeError } from './errors.js';
import { resolveLogger, type TenantLogger } from './logger.js';

export interface SystemOptions {
  logger?: TenantLogger;
}

/**
 * Enters the system scope — work across organisations, for the worker's task claim only. The
 * reason is logged. Refused inside a tenant context or an HTTP request scope, so request
 * handling can never reach it by mistake. Tenant contexts may be entered from inside it.
 */
export async function runAsSystem<T>(
  reason: string,
  fn: () => Promise<T>,
  options: SystemOptions = {},
): Promise<T> {
  if (typeof reason !== 'string' || reason.trim() === '')
    throw new SystemScopeError('runAsSystem needs a reason');
  const scope = currentScope();
  if (scope.tenant) {
    throw new SystemScopeError(
      `runAsSystem("${reason}") refused inside the tenant context of ${scope.tenant.organisationId}`,
    );
  }
  if (scope.request)
    throw new SystemScopeError(`runAsSystem("${reason}") refused inside an HTTP request scope`);
  resolveLogger(options.logger).info({ reason, system: true }, 'entering system scope');
  return await runInScope({ system: { reason } }, fn);
}
