import { createGlobalSetup } from '@prospectflow/testing/global-setup';

// A real PostgreSQL for the register test's pg spans; no schema, no Redis.
export default createGlobalSetup({ redis: false });
