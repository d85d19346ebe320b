import { createGlobalSetup } from '@prospectflow/testing/global-setup';

// A real PostgreSQL for the Node consumers' tenant-context calls; no Redis, no template.
export default createGlobalSetup({ redis: false });
