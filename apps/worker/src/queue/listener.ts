import pg from 'pg';
import type { Logger } from '../logger.js';

export const TASKS_CHANNEL = 'outreach_tasks';

/**
 * LISTEN on a dedicated connection (pgBouncer transaction pooling cannot carry it: use poll-only
 * mode there). Reconnects with a capped delay and wakes the worker after each (re)connect, since
 * notifications sent while disconnected are lost.
 */
export class TaskListener {
  #client: pg.Client | undefined;
  #stopped = false;
  #retryMs = 250;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly onWake: () => void,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'prospectflow-worker-listen',
    });
    client.on('notification', () => this.onWake());
    client.on('error', (error) => {
      this.log.warn({ err: error }, 'listen connection lost; reconnecting');
      this.#scheduleReconnect(client);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${TASKS_CHANNEL}`);
      this.#client = client;
      this.#retryMs = 250;
      this.onWake();
    } catch (error) {
      this.log.warn({ err: error }, 'listen connection failed; retrying');
      this.#scheduleReconnect(client);
    }
  }

  #scheduleReconnect(client: pg.Client): void {
    client.end().catch(() => {});
    if (this.#client === client) this.#client = undefined;
    if (this.#stopped || this.#timer) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, delay);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}
