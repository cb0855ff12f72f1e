import { join } from 'node:path';

/** The catalog tests use: fake upstream URLs come in through the environment. */
export const TEST_CATALOG = join(__dirname, 'catalog.test.yaml');
