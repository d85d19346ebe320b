export type { Static, TObject } from 'typebox';
export { ConfigError, type Env, loadAll, loadEnv, type Rule } from './load.js';
export { isOrigin, isOriginList, parseOrigins } from './origins.js';
export {
  EnvObject,
  Flag,
  Integer,
  LOG_LEVELS,
  LogLevel,
  OneOf,
  Optional,
  Origins,
  PostgresUrl,
  Secret,
  Text,
  Url,
} from './schema.js';
export { KNOWN_EXAMPLE_SECRETS, MIN_SECRET_LENGTH, secretProblem } from './secrets.js';
export { envUsage } from './usage.js';
