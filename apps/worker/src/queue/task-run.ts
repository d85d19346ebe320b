import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { ATTR, continueTrace } from '@prospectflow/telemetry';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { markSucceeded } from './sql.js';
import type { ClaimedTask, TaskContext, TaskHandler } from './types.js';

/**
 * A task in a slot, and its handler's context. The task's logger and abort signal are made when
 * first used: a handler that needs neither (most never log, and are never aborted) does not pay
 * for a pino child and an AbortController per task.
 */
export class TaskRun implements TaskContext {
  done!: Promise<void>;
  /** The handler completed the task in its own transaction (complete / completedInTransaction). */
  completed = false;
  #aborted = false;
  #controller: AbortController | undefined;
  #log: Logger | undefined;

  constructor(
    readonly task: ClaimedTask,
    readonly pool: Pool,
    readonly clock: Clock,
    readonly workerId: string,
    private readonly parentLog: Logger,
    /** Told when the handler completed the task in its own transaction. */
    private readonly onCompleted: (id: string) => void,
  ) {}

  get log(): Logger {
    this.#log ??= this.parentLog.child({
      taskId: this.task.id,
      organisationId: this.task.organisation_id,
      type: this.task.type,
      attempt: this.task.attempts,
    });
    return this.#log;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** The grace period is over: the handler hands its task back (see stop). */
  abort(): void {
    this.#aborted = true;
    this.#controller?.abort();
  }

  async complete(client: TenantClient, note?: string): Promise<void> {
    if (!(await markSucceeded(client, this.task, this.workerId, this.clock.now(), note))) {
      throw new Error('lease lost: another worker owns this task now');
    }
    this.#completed();
  }

  completedInTransaction(updated: boolean): void {
    if (!updated) throw new Error('lease lost: another worker owns this task now');
    this.#completed();
  }

  #completed(): void {
    this.completed = true;
    this.onCompleted(this.task.id);
  }
}

/**
 * Whether a tracer provider is registered. Without one, OpenTelemetry's API hands out no-op spans,
 * and continuing a task's trace is pure overhead (a few promise layers per task). Read once per
 * claimed batch, so a provider registered later applies from the next batch.
 */
export function tracerRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return (
    !(provider instanceof ProxyTracerProvider) ||
    provider.getDelegateTracer('@prospectflow/worker') !== undefined
  );
}

/**
 * Runs the task's handler, inside the trace of the request (or task) that enqueued it when a
 * tracer is registered: one trace from there through the handler's sends.
 */
export async function runHandler(run: TaskRun, handler: TaskHandler, tracing: boolean): Promise<void> {
  if (!tracing) return await handler(run);
  const { task } = run;
  const spanAttributes = {
    [ATTR.organisationId]: task.organisation_id,
    [ATTR.taskId]: task.id,
    [ATTR.taskType]: task.type,
    [ATTR.taskAttempt]: task.attempts,
  };
  await continueTrace(task.trace_context, `task ${task.type}`, spanAttributes, () => handler(run));
}
