import pg from 'pg';
import { createGlobalSetup } from '../src/global-setup.js';

export default createGlobalSetup({
  s3: true,
  mail: true,
  async prepareTemplate(_adminUrl, templateUrl) {
    const client = new pg.Client({ connectionString: templateUrl });
    await client.connect();
    await client.query('CREATE TABLE marker (id int PRIMARY KEY); INSERT INTO marker VALUES (1)');
    await client.end();
  },
});
