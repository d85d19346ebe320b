/**
 * One API replica as its own process for replicas.test.ts: the real app (config from the
 * environment, HOST/PORT), started like src/server.ts but with a long plugin timeout, since every
 * route module is transpiled by tsx on start and the test machine is shared.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

const config = loadConfig();
const app = await buildApp(config, {}, { pluginTimeout: 180_000 });
await app.listen({ host: config.host, port: config.port });
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
