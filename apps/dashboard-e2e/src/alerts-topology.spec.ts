import type { AgentGroup, RegisterAgentResponse } from '@agent-monitor/contracts';
import { BASE_URL } from '../playwright.config.js';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

/**
 * Alert engine features in the dashboard: a rule scoped to an agent group (picked in the
 * editor) over a labelled metric shows one alert per label set; an alert whose dependency is
 * down links the cause; a watchdog rule made in the editor fires at once.
 */
test('group scope, label sets, caused-by link and watchdog on the alerts pages', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const api = await ApiClient.login();
  const register = async (prefix: string) => {
    const name = unique(prefix);
    const r = await api.request<RegisterAgentResponse>('POST', '/agents/register', {
      name,
      type: 'llm_agent',
      host: `${name}.lan`,
    });
    return { ...r, name };
  };
  const llm = await register('llm');
  const db = await register('db');
  const app = await register('app');
  const group = await api.request<AgentGroup>('POST', '/agent-groups', {
    name: unique('models'),
    agentIds: [llm.id],
  });
  const metric = `ai_metrics.e2e_lat_${Date.now().toString(36)}`;

  await loginAsAdmin(page);
  await page.goto('/alerts/rules');
  await page.getByTestId('new-rule').click();
  const ruleName = unique('Slow model');
  await page.getByTestId('rule-name').fill(ruleName);
  await page.getByLabel('Agent groups (empty: all agents)').click();
  await page.getByRole('option', { name: group.name }).click();
  await page.keyboard.press('Escape');
  await page.getByTestId('condition-metric').fill(metric);
  await page.getByTestId('condition-value').fill('100');
  await page.getByTestId('rule-save').click();
  const row = page.getByRole('row').filter({ hasText: ruleName });
  await expect(row.getByTestId('rule-scope')).toHaveText('1 group');

  // Dependency: app depends on db; db reports itself down.
  await api.request('POST', `/agents/${app.id}/dependencies`, { dependsOn: db.id });
  const down = await fetch(`${BASE_URL}/api/v2/agents/${db.id}/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${db.agentKey}` },
    body: JSON.stringify({ status: 'down' }),
  });
  expect(down.status).toBeLessThan(300);
  const depMetric = `e2e_err_${Date.now().toString(36)}`;
  await api.request('POST', '/alerts/rules', {
    name: unique('App errors'),
    scope: { agentIds: [app.id] },
    condition: { kind: 'threshold', metric: depMetric, op: '>', value: 5 },
  });

  await page.goto('/alerts');
  await expect(page.getByRole('status', { name: /Live connection: Live/ })).toBeVisible();
  // The engine re-reads groups and dependencies every 2 s.
  await page.waitForTimeout(3000);
  await api.request('POST', '/metrics/batch', {
    samples: [
      {
        agentId: llm.id,
        metrics: { [`${metric}{model=gpt4}`]: 250, [`${metric}{model=claude}`]: 300 },
      },
      { agentId: app.id, metrics: { [depMetric]: 40 } },
    ],
  });
  const group1 = page.getByTestId('alert-group').filter({ hasText: ruleName });
  await expect(group1.getByTestId('alert-labels')).toHaveCount(2);
  await expect(group1.getByTestId('alert-labels').filter({ hasText: 'model=gpt4' })).toBeVisible();
  await expect(
    group1.getByTestId('alert-labels').filter({ hasText: 'model=claude' }),
  ).toBeVisible();
  const appRow = page.getByTestId('alert-row').filter({ hasText: app.name });
  await expect(appRow).toContainText('inhibited');
  await expect(appRow.getByTestId('alert-caused-by')).toContainText(db.name);
  await expect(appRow.getByRole('link', { name: db.name })).toHaveAttribute(
    'href',
    `/agents/${db.id}`,
  );

  // A watchdog made in the editor fires at once.
  await page.goto('/alerts/rules');
  await page.getByTestId('new-rule').click();
  const wd = unique('Watchdog');
  await page.getByTestId('rule-name').fill(wd);
  await page.getByRole('combobox', { name: 'Kind' }).click();
  await page.getByRole('option', { name: 'Watchdog (always fires)' }).click();
  await expect(page.getByTestId('condition-watchdog-help')).toBeVisible();
  await page.getByTestId('rule-save').click();
  await expect(page.getByRole('cell', { name: wd })).toBeVisible();
  await page.goto('/alerts');
  await expect(page.getByTestId('alert-group').filter({ hasText: wd })).toContainText('firing');
});
