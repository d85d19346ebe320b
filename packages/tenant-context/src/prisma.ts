import {
  activeUnit,
  currentScope,
  currentTenant,
  runInUnit,
  runOpening,
  runSingleCall,
  runWithTenant,
  type SingleCall,
  type TenantContext,
  type TransactionOpening,
  tryCurrentTenant,
} from './context.js';
import {
  isDbNoOrganisationError,
  NoTenantError,
  SystemScopeError,
  TenantMismatchError,
  TransactionTimeoutError,
  UnsafeQueryError,
} from './errors.js';
import { Mutex } from './mutex.js';
import { SETTINGS_SQL_PARAMETERISED, type UnitSettings } from './settings.js';

/** What Prisma removes from an interactive transaction client (its ITXClientDenyList). */
type TransactionDenyList = '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends' | '$use';

/** The `tx` a unit of work receives: the Prisma client bound to the unit's one transaction. */
export type TransactionClient<C> = Omit<C, TransactionDenyList>;

/** The parts of a generated PrismaClient this module relies on. */
export interface PrismaClientLike {
  $transaction: unknown;
  $extends: unknown;
}

export interface TenantTransactionOptions {
  /** Longest wait for a connection and BEGIN (Prisma `maxWait`). Default 2000 ms. */
  maxWait?: number;
  /** Longest life of the whole unit of work (Prisma `timeout`). Default 5000 ms. */
  timeout?: number;
  isolationLevel?: 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';
}

export interface TenantDbOptions extends TenantTransactionOptions {
  /**
   * Models without an organisation (global tables). Every other model is treated as a tenant
   * model, so a new table fails closed until someone decides otherwise. Default: Organisation, User.
   */
  globalModels?: readonly string[];
}

export interface TenantDb<C extends PrismaClientLike> {
  /**
   * The guarded client: inside a unit of work every model call joins the unit's transaction;
   * outside one but inside runWithTenant, a tenant model call is a unit of its own (on
   * createPrismaPool a single statement costs one round trip); with no organisation, tenant
   * models throw NoTenantError before any query. Global models run as usual; raw SQL is refused
   * (use the unit's `tx`).
   */
  readonly client: C;
  /** One interactive transaction for the current tenant (from runWithTenant); nested calls become savepoints. */
  transaction<T>(
    fn: (tx: TransactionClient<C>) => Promise<T>,
    options?: TenantTransactionOptions,
  ): Promise<T>;
  /** runWithTenant(context, () => transaction(fn)) — for scripts and worker tasks. */
  forTenant<T>(
    context: TenantContext,
    fn: (tx: TransactionClient<C>) => Promise<T>,
    options?: TenantTransactionOptions,
  ): Promise<T>;
  /** The open unit's `tx`, for code deep in a call stack; NoTenantError outside a unit. */
  currentTx(): TransactionClient<C>;
  /** A transaction with no organisation (tenant tables raise PF001), only inside runAsSystem: for SECURITY DEFINER calls. */
  systemTransaction<T>(
    fn: (tx: TransactionClient<C>) => Promise<T>,
    options?: TenantTransactionOptions,
  ): Promise<T>;
}

interface PrismaUnit {
  // biome-ignore lint/suspicious/noExplicitAny: the generated client's shape is only known to the caller.
  readonly tx: any;
  readonly organisationId: string;
  readonly depth: number;
  readonly children: Mutex;
  /** How many direct children are open or waiting (their savepoint holds the transaction). */
  readonly state: { openChildren: number };
}

// biome-ignore lint/suspicious/noExplicitAny: see PrismaUnit.tx
type AnyFunction = (...args: any[]) => any;

/**
 * `tx` as handed to a unit's callback: every call goes through `gate`, which holds a statement sent
 * beside an open nested unit until that unit ends (see gateFor in pg.ts: else it would run in the
 * nested unit's savepoint and vanish, reported as done, when that unit rolls back).
 */
// biome-ignore lint/suspicious/noExplicitAny: see PrismaUnit.tx
function gatedTx(tx: any, gate: (send: () => unknown) => unknown, cache: WeakMap<object, object>): any {
  const wrap = (target: object): object => {
    const known = cache.get(target);
    if (known) return known;
    const methods = new Map<PropertyKey, AnyFunction>();
    const proxy = new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object);
        if (typeof value === 'function') {
          let method = methods.get(property);
          if (!method) {
            method = (...args: unknown[]) => gate(() => (value as AnyFunction).apply(object, args));
            methods.set(property, method);
          }
          return method;
        }
        // A model delegate (tx.company): its operations are gated too.
        if (value && typeof value === 'object' && typeof property === 'string' && !property.startsWith('$'))
          return wrap(value);
        return value;
      },
    });
    cache.set(target, proxy);
    return proxy;
  };
  return wrap(tx);
}

const DEFAULT_GLOBAL_MODELS = ['Organisation', 'User'];
/**
 * Operations Prisma batches across callers: same-tick requests are merged and run from the first
 * caller's async context, so their statements could pick up another tenant's single call. They
 * always get a transaction of their own, which Prisma never batches with anyone else's.
 */
const BATCHED_OPERATIONS = new Set(['findUnique', 'findUniqueOrThrow']);
const DEFAULT_MAX_WAIT_MS = 2000;
const DEFAULT_TIMEOUT_MS = 5000;

function delegateKey(model: string): string {
  return model.charAt(0).toLowerCase() + model.slice(1);
}

function mapTimeout(
  error: unknown,
  options: Required<Pick<TenantTransactionOptions, 'maxWait' | 'timeout'>>,
): unknown {
  if ((error as { code?: unknown })?.code !== 'P2028') return error;
  return new TransactionTimeoutError(
    `The tenant transaction could not start within maxWait=${options.maxWait} ms (pool exhausted?) ` +
      `or outlived timeout=${options.timeout} ms: ${(error as Error).message}`,
    { cause: error },
  );
}

/**
 * Wraps a PrismaClient (from `@prospectflow/db-schema`'s createPrismaClient) so that every unit of
 * work is ONE interactive transaction whose first statement sets the organisation, with `tx`
 * carried in the async context. Nothing is batched across organisations: each unit's queries carry
 * its own transaction id, so Prisma never merges them with another unit's (prisma/prisma#23343).
 */
export function createTenantDb<C extends PrismaClientLike>(
  prisma: C,
  options: TenantDbOptions = {},
): TenantDb<C> {
  const globalModels = new Set(options.globalModels ?? DEFAULT_GLOBAL_MODELS);
  const defaults = {
    maxWait: options.maxWait ?? DEFAULT_MAX_WAIT_MS,
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    isolationLevel: options.isolationLevel,
  };
  const base = prisma as unknown as { $transaction: AnyFunction; $extends: AnyFunction };

  // Gated handles by the Prisma object they wrap (a transaction client or one of its delegates).
  const gated = new WeakMap<object, object>();
  // A call made from a unit's own context while one of its nested units is open waits for it.
  const gate = (send: () => unknown): unknown => {
    const caller = activeUnit<PrismaUnit>(prisma);
    if (!caller || caller.state.openChildren === 0) return send();
    return caller.children.run(async () => await send());
  };

  // Whether this client's pool is a createPrismaPool one, which carries a single call's settings
  // with its statements. Unknown until a unit shows it (its opening claimed, or not): until then
  // single calls run as units. Never assumed: on another pool a single call goes out without the
  // settings, and a connection left with a stray session-level `SET app.organisation_id` (another
  // user of the pool, another pgBouncer client) would answer it for that organisation, not refuse.
  let singleCallsCarried: boolean | undefined;

  async function singleCall(
    settings: UnitSettings,
    model: string,
    operation: string,
    args: unknown,
    query: (args: unknown) => Promise<unknown>,
  ): Promise<unknown> {
    // biome-ignore lint/suspicious/noExplicitAny: see PrismaUnit.tx
    const asUnit = () => runUnit(settings, (tx: any) => tx[delegateKey(model)][operation](args));
    if (BATCHED_OPERATIONS.has(operation) || singleCallsCarried !== true) return await asUnit();
    const call: SingleCall = { settings, opening: { settings, claimed: false }, carried: false };
    try {
      return await runSingleCall(call, async () => await query(args));
    } catch (error) {
      // Without the settings the database refused the call (PF001) before touching any row.
      if (call.carried || call.opening.claimed || !isDbNoOrganisationError(error)) throw error;
      singleCallsCarried = false;
      return await asUnit();
    }
  }

  const client = base.$extends({
    name: '@prospectflow/tenant-context guard',
    query: {
      $allOperations({
        model,
        operation,
        args,
        query,
        __internalParams: internal,
      }: {
        model?: string;
        operation: string;
        args: unknown;
        query: (args: unknown) => Promise<unknown>;
        __internalParams?: { transaction?: unknown };
      }) {
        if (!model) {
          throw new UnsafeQueryError(
            `${operation} on the guarded client is refused: run raw SQL on the unit's tx (db.transaction(tx => tx.${operation}…))`,
          );
        }
        // Prisma's own $transaction carries no organisation (its batch form even starts from a
        // shared tick, outside the caller's async context): units are the only transactions.
        if (internal?.transaction) {
          throw new UnsafeQueryError(
            `${model}.${operation} in $transaction on the guarded client is refused: use db.transaction(tx => …)`,
          );
        }
        const unit = activeUnit<PrismaUnit>(prisma);
        if (unit) return gate(() => unit.tx[delegateKey(model)][operation](args));
        if (globalModels.has(model)) return query(args);
        const tenant = tryCurrentTenant();
        if (!tenant) throw new NoTenantError(`${model}.${operation}`);
        const settings = { organisationId: tenant.organisationId, userId: tenant.userId ?? '' };
        return singleCall(settings, model, operation, args, query);
      },
    },
  }) as C;

  async function runNested<T>(parent: PrismaUnit, fn: (tx: TransactionClient<C>) => Promise<T>): Promise<T> {
    parent.state.openChildren++;
    try {
      return await parent.children.run(async () => {
        const depth = parent.depth + 1;
        const savepoint = `pf_unit_${depth}`;
        const unit: PrismaUnit = {
          tx: parent.tx,
          organisationId: parent.organisationId,
          depth,
          children: new Mutex(),
          state: { openChildren: 0 },
        };
        await parent.tx.$executeRawUnsafe(`SAVEPOINT ${savepoint}`);
        try {
          const result = await runInUnit(prisma, unit, () => fn(gatedTx(parent.tx, gate, gated)));
          await parent.tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${savepoint}`);
          return result;
        } catch (error) {
          await parent.tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => {});
          throw error;
        }
      });
    } finally {
      parent.state.openChildren--;
    }
  }

  async function runUnit<T>(
    settings: UnitSettings,
    fn: (tx: TransactionClient<C>) => Promise<T>,
    overrides: TenantTransactionOptions = {},
  ): Promise<T> {
    const parent = activeUnit<PrismaUnit>(prisma);
    if (parent) {
      if (parent.organisationId !== settings.organisationId) {
        throw new TenantMismatchError(
          parent.organisationId || '(system)',
          settings.organisationId || '(system)',
        );
      }
      return await runNested(parent, fn);
    }
    const effective = { ...defaults, ...overrides };
    // A createPrismaPool client claims this and sends the settings with BEGIN; any other pool
    // leaves it unclaimed and the settings go first as a statement of their own.
    const opening: TransactionOpening = { settings, claimed: false };
    try {
      return await runOpening(opening, () =>
        base.$transaction(
          // biome-ignore lint/suspicious/noExplicitAny: see PrismaUnit.tx
          async (tx: any) => {
            if (!opening.claimed)
              await tx.$executeRawUnsafe(
                SETTINGS_SQL_PARAMETERISED,
                settings.organisationId,
                settings.userId,
              );
            singleCallsCarried ??= opening.claimed;
            const unit: PrismaUnit = {
              tx,
              organisationId: settings.organisationId,
              depth: 0,
              children: new Mutex(),
              state: { openChildren: 0 },
            };
            return await runInUnit(prisma, unit, () => fn(gatedTx(tx, gate, gated)));
          },
          {
            maxWait: effective.maxWait,
            timeout: effective.timeout,
            ...(effective.isolationLevel ? { isolationLevel: effective.isolationLevel } : {}),
          },
        ),
      );
    } catch (error) {
      throw mapTimeout(error, effective);
    }
  }

  const transaction: TenantDb<C>['transaction'] = async (fn, overrides) => {
    const tenant = currentTenant();
    return await runUnit(
      { organisationId: tenant.organisationId, userId: tenant.userId ?? '' },
      fn,
      overrides,
    );
  };

  return {
    client,
    transaction,
    forTenant: async (context, fn, overrides) =>
      await runWithTenant(context, () => transaction(fn, overrides)),
    currentTx() {
      const unit = activeUnit<PrismaUnit>(prisma);
      if (!unit) throw new NoTenantError('currentTx()');
      return gatedTx(unit.tx, gate, gated);
    },
    async systemTransaction(fn, overrides) {
      if (!currentScope().system)
        throw new SystemScopeError('systemTransaction must run inside runAsSystem(reason, …)');
      return await runUnit({ organisationId: '', userId: '' }, fn, overrides);
    },
  };
}
