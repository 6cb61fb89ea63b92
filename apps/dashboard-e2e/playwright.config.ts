import { defineConfig } from '@playwright/test';

/**
 * Browser tests click through the real built dashboard, served by `npm start` (API + static
 * files, embedded PostgreSQL in a throwaway DATA_DIR), in Debian's Chromium.
 */
const PORT = Number(process.env.E2E_PORT ?? 3100);
export const BASE_URL = `http://localhost:${PORT}`;
export const E2E_ADMIN = { email: 'admin@e2e.test', password: 'E2e-Admin-Password-1' };

export default defineConfig({
  testDir: './src',
  testMatch: /.*\.spec\.ts$/,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: 'node ../../apps/api/dist/main.js',
    url: `${BASE_URL}/api/v2/health/ready`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PORT: String(PORT),
      HOST: '127.0.0.1',
      DATA_DIR: process.env.E2E_DATA_DIR ?? `/tmp/am-e2e-${Date.now()}`,
      ADMIN_EMAIL: E2E_ADMIN.email,
      ADMIN_PASSWORD: E2E_ADMIN.password,
      LOG_LEVEL: 'warn',
      LIVENESS_SWEEP_INTERVAL: '200ms',
      // System health snapshots (and their socket push) every 2 s instead of 15 s.
      SYSTEM_HEALTH_INTERVAL: '2s',
    },
  },
});
