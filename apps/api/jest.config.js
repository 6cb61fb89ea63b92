import { preset } from '../../jest.preset.js';

// Unit specs sit beside the code; integration suites (`test/*.e2e-spec.ts`) boot the real
// Fastify app against a real PostgreSQL (see test/global-setup.ts).
export default {
  ...preset(),
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 30000,
};
