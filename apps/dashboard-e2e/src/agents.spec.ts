import { AgentClient } from '../../../libs/agent-sdk/src/index.js';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

/**
 * The agents pages against a live fleet: agents run in this process with the real SDK
 * (heartbeat every second), the browser shows them, one stops and its chip turns offline
 * without a reload, filters and search narrow the list, and the detail page edits a tag.
 */
test('agents page shows a live fleet; filters, search and tag editing work', async ({ page }) => {
  test.setTimeout(90_000);
  const api = await ApiClient.login();
  const { key } = await api.createApiKey({ scopes: ['agents:register'] });
  const prefix = unique('e2e');
  const kinds = ['web_server', 'db_monitor', 'llm_agent'] as const;
  const fleet = Array.from({ length: 6 }, (_, i) => {
    return new AgentClient({
      baseUrl: process.env.E2E_BASE_URL ?? `http://localhost:${process.env.E2E_PORT ?? 3100}`,
      registrationKey: key,
      agent: {
        name: `${prefix}-${kinds[i % 3]}-${i}`,
        type: kinds[i % 3],
        host: `${prefix}-${i}.lan`,
        environment: i < 3 ? 'production' : 'staging',
        heartbeatIntervalSec: 1,
        tags: { team: i % 2 ? 'core' : 'data' },
      },
      state: () => ({ status: 'active' }),
    });
  });
  await Promise.all(fleet.map((a) => a.start()));
  const victim = fleet[4];
  const victimName = `${prefix}-${kinds[1]}-4`;

  try {
    await loginAsAdmin(page);
    await page.goto(`/agents?q=${prefix}`);
    const rows = page.getByTestId('agent-row');
    await expect(rows).toHaveCount(6);
    await expect(page.getByTestId('count-online')).toContainText('6');
    const victimRow = page.locator(`[data-testid="agent-row"][data-agent-name="${victimName}"]`);
    await expect(victimRow.locator('[data-status="online"]')).toBeVisible();

    await test.step('an agent that stops turns offline without a reload', async () => {
      await victim.stop();
      const navigations: string[] = [];
      page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
      await expect(victimRow.locator('[data-status="stale"]')).toBeVisible({ timeout: 10_000 });
      await expect(victimRow.locator('[data-status="offline"]')).toBeVisible({ timeout: 15_000 });
      expect(navigations).toEqual([]);
      await expect(page.getByTestId('count-offline')).toContainText('1');
    });

    await test.step('status filter and search narrow the list', async () => {
      await page.getByTestId('count-offline').click();
      await expect(rows).toHaveCount(1);
      await expect(rows.first()).toHaveAttribute('data-agent-name', victimName);
      await page.getByTestId('count-offline').click();
      await expect(rows).toHaveCount(6);
      await page.getByTestId('agent-search').fill(`${prefix}-llm`);
      await expect(rows).toHaveCount(2);
      await page.getByTestId('agent-search').fill(prefix);
      await page.goto(`/agents?q=${prefix}&environment=staging&type=web_server`);
      await expect(rows).toHaveCount(1);
      await expect(rows.first()).toHaveAttribute('data-agent-name', `${prefix}-web_server-3`);
      await page.getByRole('button', { name: 'Grid view' }).click();
      await expect(page.getByTestId('agent-card')).toHaveCount(1);
    });

    await test.step('the detail page edits a tag', async () => {
      await page.getByTestId('agent-card').first().click();
      await expect(page.getByRole('heading', { name: `${prefix}-web_server-3` })).toBeVisible();
      await expect(page.getByTestId('status-timeline')).toContainText('registered');
      await page.getByTestId('tag-input').fill('owner:e2e');
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await expect(page.getByTestId('agent-tag').filter({ hasText: 'owner:e2e' })).toBeVisible();
      await page.reload();
      await expect(page.getByTestId('agent-tag').filter({ hasText: 'owner:e2e' })).toBeVisible();
      await expect(page.getByTestId('agent-tag').filter({ hasText: 'team:core' })).toBeVisible();
    });
  } finally {
    await Promise.all(fleet.map((a) => a.stop()));
  }
});
