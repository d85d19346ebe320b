import { prepareTestTemplate } from '@prospectflow/db-schema/testing';
import { createGlobalSetup } from '@prospectflow/testing/global-setup';

// One real PostgreSQL (TEST_DATABASE_URL or embedded 18) and Redis per run; a migrated template
// every test file clones with createTestDatabase().
export default createGlobalSetup({ prepareTemplate: prepareTestTemplate });
