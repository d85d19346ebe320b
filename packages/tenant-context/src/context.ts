import { AsyncLocalStorage } from 'node:async_hooks';
import { NoTenantError, TenantMismatchError } from './errors.js';
import { normaliseUuid } from './uuid.js';

/** Who a unit of work runs for. `userId` goes to `app.user_id` for audit; `role` is the caller's app role. */
export interface TenantContext {
  readonly organisationId: string;
  readonly userId?: string;
  readonly role?: string;
}

/** What the async context carries. Each nested scope gets a new object, never a mutated one. */
export interface Scope {
  readonly tenant?: TenantContext;
  /** Set by markRequestScope: code running for an HTTP request may never enter the system path. */
  readonly request?: boolean;
  readonly system?: { readonly reason: string };
  /** Open units of work, keyed by the pg pool or Prisma client they run on. */
  readonly units?: ReadonlyMap<object, unknown>;
  /** A Prisma unit whose interactive transaction is being opened (see prisma-pool.ts). */
  readonly opening?: TransactionOpening;
  /** A single Prisma call outside any unit, whose statements carry the settings (see prisma-pool.ts). */
  readonly singleCall?: SingleCall;
}

/** Handed from a Prisma unit to the pool client that runs its BEGIN; claimed at most once. */
export interface TransactionOpening {
  readonly settings: { readonly organisationId: string; readonly userId: string };
  claimed: boolean;
}

/**
 * One Prisma call made outside a unit of work: each statement it sends outside a transaction gets
 * the settings in its own round trip; a transaction it opens claims `opening`. `carried` records
 * that a createPrismaPool pool did either, so a plain pool can be told apart.
 */
export interface SingleCall {
  readonly settings: TransactionOpening['settings'];
  readonly opening: TransactionOpening;
  carried: boolean;
}

/** Runs `fn` (one Prisma call) with `call` for the pool to pick up. */
export function runSingleCall<T>(call: SingleCall, fn: () => T): T {
  return storage.run({ ...currentScope(), singleCall: call, opening: call.opening }, fn);
}

/** The single call of this async context, if any. */
export function currentSingleCall(): SingleCall | undefined {
  return storage.getStore()?.singleCall;
}

/** Runs `fn` (which opens one interactive transaction) with `opening` for the pool to claim. */
export function runOpening<T>(opening: TransactionOpening, fn: () => T): T {
  return storage.run({ ...currentScope(), opening, singleCall: undefined }, fn);
}

/** The opening of this async context, if one is waiting; marks it claimed. */
export function claimOpening(): TransactionOpening | undefined {
  const opening = storage.getStore()?.opening;
  if (!opening || opening.claimed) return undefined;
  opening.claimed = true;
  return opening;
}

// One store per process even if both the ESM and the CJS build get loaded (dual-package hazard):
// two stores would make a tenant set through one invisible to the other.
const STORAGE_KEY = Symbol.for('@prospectflow/tenant-context/scope');
const globalSlot = globalThis as { [STORAGE_KEY]?: AsyncLocalStorage<Scope> };
globalSlot[STORAGE_KEY] ??= new AsyncLocalStorage<Scope>();
const storage = globalSlot[STORAGE_KEY];

export function currentScope(): Scope {
  return storage.getStore() ?? {};
}

export function runInScope<T>(scope: Scope, fn: () => T): T {
  return storage.run(scope, fn);
}

function validated(context: TenantContext): TenantContext {
  if (!context || typeof context !== 'object') throw new NoTenantError('runWithTenant');
  const organisationId = normaliseUuid(context.organisationId, 'organisationId');
  const userId = context.userId === undefined ? undefined : normaliseUuid(context.userId, 'userId');
  return Object.freeze({
    organisationId,
    ...(userId ? { userId } : {}),
    ...(context.role ? { role: context.role } : {}),
  });
}

/**
 * Runs `fn` with `context` as the current organisation. Nesting the same organisation keeps any
 * open unit of work (so inner units become savepoints); nesting another organisation throws.
 * Inside a system scope a tenant context starts clean (no system units, no system marker).
 */
export function runWithTenant<T>(context: TenantContext, fn: () => T): T {
  const tenant = validated(context);
  const parent = currentScope();
  if (parent.tenant) {
    if (parent.tenant.organisationId !== tenant.organisationId) {
      throw new TenantMismatchError(parent.tenant.organisationId, tenant.organisationId);
    }
    return storage.run({ ...parent, tenant }, fn);
  }
  return storage.run({ request: parent.request, tenant }, fn);
}

/** The current tenant, or NoTenantError. */
export function currentTenant(): TenantContext {
  const tenant = storage.getStore()?.tenant;
  if (!tenant) throw new NoTenantError();
  return tenant;
}

/** The current tenant, or undefined. */
export function tryCurrentTenant(): TenantContext | undefined {
  return storage.getStore()?.tenant;
}

/**
 * Marks everything `fn` starts as HTTP request handling, so runAsSystem refuses to run there.
 * Fastify: `app.addHook('onRequest', (_req, _reply, done) => markRequestScope(done))`.
 */
export function markRequestScope<T>(fn: () => T): T {
  return storage.run({ ...currentScope(), request: true }, fn);
}

export function isInRequestScope(): boolean {
  return storage.getStore()?.request === true;
}

export function isInSystemScope(): boolean {
  return storage.getStore()?.system !== undefined;
}

/** The open unit of work on `key` (a pool or Prisma client) in this async context, if any. */
export function activeUnit<U>(key: object): U | undefined {
  return storage.getStore()?.units?.get(key) as U | undefined;
}

/** Runs `fn` with `unit` registered as the open unit of work on `key`. */
export function runInUnit<T>(key: object, unit: unknown, fn: () => T): T {
  const parent = currentScope();
  const units = new Map(parent.units);
  units.set(key, unit);
  return storage.run({ ...parent, units }, fn);
}
