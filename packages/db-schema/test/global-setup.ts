import { createGlobalSetup } from '@prospectflow/testing/global-setup';
import { prepareTestTemplate } from '../src/test-template.js';

export default createGlobalSetup({ prepareTemplate: prepareTestTemplate, redis: false });
