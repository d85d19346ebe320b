import { prepareTestTemplate } from '@prospectflow/db-schema/testing';
import { createGlobalSetup } from '@prospectflow/testing/global-setup';

export default createGlobalSetup({ prepareTemplate: prepareTestTemplate, redis: false, mail: true });
