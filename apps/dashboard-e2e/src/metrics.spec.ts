import type { HistoricalSeries, RegisterAgentResponse } from '@agent-monitor/contracts';
import { BASE_URL } from '../playwright.config.js';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

/**
 * An agent's metrics on its detail page: samples sent moments before are charted, the range
 * switches to 7 days (served from the rollups), and a sample sent while the page is open is
 * appended live from `new_metrics_data` without a reload.
 */
test('agent chart shows fresh data, switches to 7 d and appends a live point', async ({ page }) => {
  test.setTimeout(90_000);
  const api = await ApiClient.login();
  const { key } = await api.createApiKey({ scopes: ['agents:register'] });
  const name = unique('metrics-agent');
  const reg = await fetch(`${BASE_URL}/api/v2/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ name, type: 'llm_agent', host: `${name}.lan` }),
  });
  expect(reg.status).toBe(201);
  const agent = (await reg.json()) as RegisterAgentResponse;
  const send = async (timestamp: number, metrics: Record<string, number>) => {
    const r = await fetch(`${BASE_URL}/api/v2/agents/${agent.id}/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${agent.agentKey}` },
      body: JSON.stringify({ timestamp, metrics }),
    });
    expect(r.status).toBe(200);
  };
  const now = Date.now();
  for (let i = 10; i >= 1; i--) {
    await send(now - i * 20_000, {
      cpu_usage: 20 + i,
      memory_usage: 50,
      'ai_metrics.inference_time{model=gpt4}': 100 + i,
    });
  }

  await loginAsAdmin(page);
  await page.goto(`/agents/${agent.id}`);
  const panel = page.getByTestId('agent-metrics-panel');
  await expect(panel).toBeVisible();
  const cpu = page.getByTestId('metric-chart-cpu_usage');
  await expect(cpu).toHaveAttribute('data-points', '10');
  await expect(page.getByTestId('ai-metrics-panel')).toContainText('Inference time');

  await test.step('7 days come from the rollups', async () => {
    // The rollup job runs every 10 s: wait until the 1-minute buckets exist, then switch.
    await expect
      .poll(
        async () =>
          (
            await api.request<HistoricalSeries>(
              'GET',
              `/metrics/historical/${agent.id}?metric=cpu_usage&step=15m&from=${now - 7 * 86_400_000}`,
            )
          ).points.length,
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0);
    await panel.getByRole('button', { name: '7d', exact: true }).click();
    await expect(panel).toContainText('1m rollup');
    await expect(cpu).not.toHaveAttribute('data-points', '0');
  });

  await test.step('a new sample is appended live', async () => {
    await panel.getByRole('button', { name: '15m', exact: true }).click();
    await expect(cpu).toHaveAttribute('data-points', '10');
    await send(Date.now(), { cpu_usage: 77 });
    await expect(cpu).toHaveAttribute('data-points', '11', { timeout: 10_000 });
  });
});
