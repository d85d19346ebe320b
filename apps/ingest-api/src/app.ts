import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyAutoload from '@fastify/autoload';
import Fastify, { type FastifyInstance, type FastifyPluginOptions, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { DestinationStream } from 'pino';
import type { AppConfig } from './config.js';
import { requestSerializer } from './lib/log-redaction.js';
import { frameworkErrors, registerProblemHandlers } from './lib/problem-handler.js';
import { requestValidator } from './lib/request-validation.js';
import routePolicy from './plugins/route-policy.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** What every autoloaded plugin and route receives as its options. */
export interface AppOptions extends FastifyPluginOptions {
  config: AppConfig;
  /** Key namespace of auth-core's session cache (tests isolate files sharing a Redis). */
  authKeyPrefix?: string;
  /** Where pino writes (tests capture logs); stdout by default. */
  logStream?: DestinationStream;
}

// Helper modules may sit beside plugins (a folder with index.ts loads only index.ts);
// tests, declarations and source maps never load.
const IGNORE = /(?:\.test\.[cm]?[jt]s|\.d\.[cm]?ts|\.map)$/;

/**
 * The application as a plugin (fastify/demo layout): external plugins, then app plugins, then
 * every folder under routes/. Route owners add a folder; nothing here changes.
 */
export default async function serviceApp(fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  registerProblemHandlers(fastify);
  // One validator for every route: bodies exactly as sent, query/params/headers coerced from strings.
  fastify.setValidatorCompiler(requestValidator());
  // First, so its onRoute hook sees every route (deny-by-default check at ready).
  await fastify.register(routePolicy);

  await fastify.register(fastifyAutoload, {
    dir: path.join(here, 'plugins/external'),
    ignorePattern: IGNORE,
    options: opts,
  });
  await fastify.register(fastifyAutoload, {
    dir: path.join(here, 'plugins/app'),
    ignorePattern: IGNORE,
    options: opts,
  });
  await fastify.register(fastifyAutoload, {
    dir: path.join(here, 'routes'),
    ignorePattern: IGNORE,
    autoHooks: true,
    cascadeHooks: true,
    options: opts,
  });
}

/** Fastify's own options for this service: logger, request ids, body limit. */
export function serverOptions(config: AppConfig, logStream?: DestinationStream): FastifyServerOptions {
  const pretty =
    !logStream && process.stdout.isTTY && config.nodeEnv !== 'production' && config.logLevel !== 'silent';
  return {
    logger: {
      level: config.logLevel,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-api-key"]',
          'res.headers["set-cookie"]',
          'headers.authorization',
          'headers.cookie',
        ],
        censor: '[redacted]',
      },
      // Path tokens (/u/…, /t/…) and query strings never reach the logs.
      serializers: { req: requestSerializer as never },
      ...(logStream ? { stream: logStream } : {}),
      ...(pretty
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }
        : {}),
    },
    // An incoming x-request-id is only trusted behind our own proxy; otherwise we mint one.
    requestIdHeader: config.trustProxy ? 'x-request-id' : false,
    genReqId: () => randomUUID(),
    // A hop count trusts that many proxies in front of us (fastify's number form, typed as a function).
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(config.trustProxy)
        : config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    // What the router refuses before any route runs (a URL that does not decode): problem+json too.
    frameworkErrors: frameworkErrors(config.nodeEnv === 'production'),
    // Validation (ajv options per request part) is set in serviceApp: lib/request-validation.ts.
  };
}

/** A ready-to-listen instance: used by server.ts, the tests and the benchmarks. */
export async function buildApp(
  config: AppConfig,
  options: Omit<AppOptions, 'config'> = {},
  server: Partial<FastifyServerOptions> = {},
): Promise<FastifyInstance> {
  const app = Fastify({ ...serverOptions(config, options.logStream), ...server });
  await app.register(fp(serviceApp, { name: 'ingest-api' }), { ...options, config });
  return app;
}
