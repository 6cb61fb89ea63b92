import { preset } from '../../jest.preset.js';

export default {
  ...preset({ tsx: true, environment: 'jsdom' }),
  testMatch: ['<rootDir>/src/**/*.spec.{ts,tsx}'],
};
