import {
  ApiClient,
  expect,
  loginAs,
  loginAsAdmin,
  logout,
  mainNav,
  test,
} from './support/index.js';

/**
 * The System health page through the built app: an admin opens it from the navigation, sees
 * the database up and Redis off (this server runs without REDIS_URL), the per-instance table
 * fills from the live `system_health_update` push, and the range switch reloads the history;
 * a viewer has no link and no access by URL.
 */
test.setTimeout(120_000);

test('system health: live figures for operators, no access for viewers', async ({ page }) => {
  const admin = await ApiClient.login();
  const viewer = await admin.createUser({ role: 'viewer' });

  await test.step('admin opens System health from the navigation', async () => {
    await loginAsAdmin(page);
    await mainNav(page).getByRole('link', { name: 'System health' }).click();
    await expect(page).toHaveURL(/\/system$/);
    await expect(page.getByRole('heading', { name: 'System health' })).toBeVisible();
    await expect(page.getByTestId('db-status')).toContainText('Database up');
    await expect(page.getByTestId('redis-status')).toContainText('Redis disabled');
    await expect(page.getByTestId('stat-rss')).toHaveText(/\d+ MB/);
  });

  await test.step('snapshots arrive live and fill the instance table', async () => {
    // SYSTEM_HEALTH_INTERVAL is 2 s for this server; no reload needed.
    await expect(page.getByTestId('instance-row')).toHaveCount(1, { timeout: 20_000 });
    await expect(page.getByTestId('chart-rss')).toHaveAttribute('data-points', /^[1-9]\d*$/, {
      timeout: 20_000,
    });
  });

  await test.step('the range switch reloads the history', async () => {
    await page.getByRole('button', { name: '24h' }).click();
    await expect(page.getByRole('button', { name: '24h' })).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByTestId('chart-rss')).toHaveAttribute('data-points', /^[1-9]\d*$/);
  });

  await test.step('a viewer has neither the link nor the page', async () => {
    await logout(page);
    await loginAs(page, viewer.email, viewer.password);
    await expect(mainNav(page).getByRole('link', { name: 'System health' })).toHaveCount(0);
    await page.goto('/system');
    await expect(page.getByText("You don't have access to this page")).toBeVisible();
  });
});
