/** `@prospectflow/db-schema/testing`: support for test suites that need a migrated database. */
export { prepareTestTemplate } from './test-template.js';
