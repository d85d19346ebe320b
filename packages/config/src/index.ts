export type { Static, TObject } from 'typebox';
export { ConfigError, type Env, loadAll, loadEnv, type Rule } from './load.js';
export { isOrigin, isOriginList, parseOrigins } from './origins.js';

export * from './schema.js';
/** The same vocabulary as one namespace, like TypeBox's `Type`: `Var.Integer({ … })` in a service's schema. */
export * as Var from './schema.js';
export {
  KNOWN_EXAMPLE_SECRETS,
  MIN_SECRET_LENGTH,
  redactUrlPassword,
  secretProblem,
  urlPasswordProblem,
} from './secrets.js';
export { envUsage } from './usage.js';
