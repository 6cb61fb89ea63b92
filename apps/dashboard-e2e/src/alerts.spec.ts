import type { RegisterAgentResponse } from '@agent-monitor/contracts';
import { BASE_URL } from '../playwright.config.js';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

/**
 * Alerting end to end: build a threshold rule in the editor, push a sample that crosses it,
 * see the live toast and the alert on the alerts page, and acknowledge it with a comment.
 */
test('a rule made in the editor fires on a sample, toasts, and is acknowledged', async ({
  page,
}) => {
  test.setTimeout(90_000);
  const api = await ApiClient.login();
  const { key } = await api.createApiKey({ scopes: ['agents:register'] });
  const name = unique('alert-agent');
  const reg = await fetch(`${BASE_URL}/api/v2/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ name, type: 'web_server', host: `${name}.lan` }),
  });
  expect(reg.status).toBe(201);
  const agent = (await reg.json()) as RegisterAgentResponse;
  const metric = `e2e_cpu_${Date.now().toString(36)}`;

  await loginAsAdmin(page);
  await page.goto('/alerts/rules');
  await page.getByTestId('new-rule').click();
  const ruleName = unique('CPU too high');
  await page.getByTestId('rule-name').fill(ruleName);
  await page.getByTestId('condition-metric').fill(metric);
  await page.getByTestId('condition-value').fill('80');
  await page.getByTestId('rule-save').click();
  await expect(page.getByRole('cell', { name: ruleName })).toBeVisible();
  await expect(page.getByText(`${metric} > 80`)).toBeVisible();

  await page.goto('/alerts');
  // The live connection must be up before the sample, or the event has nobody to reach.
  await expect(page.getByRole('status', { name: /Live connection: Live/ })).toBeVisible();
  const sent = await fetch(`${BASE_URL}/api/v2/agents/${agent.id}/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${agent.agentKey}` },
    body: JSON.stringify({ metrics: { [metric]: 97 } }),
  });
  expect(sent.status).toBe(200);

  const toast = page.getByTestId('alert-toast');
  await expect(toast).toBeVisible();
  await expect(toast).toContainText(ruleName);
  await expect(page.getByTestId('alert-badge')).toContainText(/[1-9]/);
  const row = page.getByTestId('alert-row').filter({ hasText: name });
  await expect(row).toBeVisible();
  await expect(row).toContainText('firing');
  await row.getByRole('button', { name: 'Acknowledge' }).click();
  await page.getByLabel('Comment').fill('looking into it');
  await page.getByRole('dialog').getByRole('button', { name: 'Acknowledge' }).click();
  await expect(row.getByTestId('acked-by')).toContainText('looking into it');
});
