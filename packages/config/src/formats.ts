/** JSON Schema formats the vocabulary emits and `loadEnv` registers with Ajv. */

/** Prefix of the URL formats `loadEnv` registers: `url:postgres,postgresql`. */
export const URL_FORMAT_PREFIX = 'url:';

/** Format of `Origins()` (checked by `loadEnv` with `isOriginList`). */
export const ORIGINS_FORMAT = 'origin-list';
