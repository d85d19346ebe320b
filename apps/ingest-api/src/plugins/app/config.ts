import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppOptions } from '../../app.js';
import type { AppConfig } from '../../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Validated settings (src/config.ts). */
    config: AppConfig;
  }
}

async function config(fastify: FastifyInstance, opts: AppOptions) {
  fastify.decorate('config', opts.config);
}

export default fp(config, { name: 'config', fastify: '5.x' });
