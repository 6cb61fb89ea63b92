import type {
  AlertRule,
  NotificationChannel,
  RegisterAgentResponse,
} from '@agent-monitor/contracts';
import { BASE_URL } from '../playwright.config.js';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

/**
 * Correlated alerts shown together: x's cpu alert leads a notification that y's cpu alert
 * (same rule) and x's memory alert (same agent) join; "As notified" shows the three as one
 * group, "By rule" and "By agent" regroup them.
 */
test('the alerts page shows correlation groups as notified, by rule and by agent', async ({
  page,
}) => {
  test.setTimeout(90_000);
  const api = await ApiClient.login();
  const { key } = await api.createApiKey({ scopes: ['agents:register'] });
  const register = async (name: string) => {
    const res = await fetch(`${BASE_URL}/api/v2/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ name, type: 'web_server', host: `${name}.lan` }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as RegisterAgentResponse;
  };
  const send = async (agent: RegisterAgentResponse, metrics: Record<string, number>) => {
    const res = await fetch(`${BASE_URL}/api/v2/agents/${agent.id}/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${agent.agentKey}` },
      body: JSON.stringify({ metrics }),
    });
    expect(res.status).toBe(200);
  };
  const xName = unique('corr-x');
  const yName = unique('corr-y');
  const [x, y] = [await register(xName), await register(yName)];
  // A documentation-range address: accepted at save, never answers (grouping is decided when
  // the notification is queued, not when it is delivered).
  const channel = await api.request<NotificationChannel>('POST', '/notification-channels', {
    type: 'webhook',
    name: unique('corr-hook'),
    config: { url: 'http://203.0.113.7/hook' },
  });
  const tag = Date.now().toString(36);
  const rule = (name: string, metric: string, agentIds: string[]) =>
    api.request<AlertRule>('POST', '/alerts/rules', {
      name,
      channelIds: [channel.id],
      scope: { agentIds },
      groupWindowSec: 30,
      condition: { kind: 'threshold', metric, op: '>', value: 80 },
    });
  const cpu = await rule(unique('Corr CPU'), `corr_cpu_${tag}`, [x.id, y.id]);
  const mem = await rule(unique('Corr memory'), `corr_mem_${tag}`, [x.id]);

  await send(x, { [`corr_cpu_${tag}`]: 97 });
  await expect
    .poll(async () => (await api.request<unknown[]>('GET', '/alerts/active')).length)
    .toBeGreaterThan(0);
  await send(y, { [`corr_cpu_${tag}`]: 97 });
  await send(x, { [`corr_mem_${tag}`]: 97 });

  await loginAsAdmin(page);
  await page.goto('/alerts');
  const groupWith = (text: string) => page.getByTestId('alert-group').filter({ hasText: text });
  const titled = (title: string) =>
    page.getByTestId('alert-group').filter({
      has: page.getByTestId('alert-group-title').getByText(title, { exact: true }),
    });

  // As notified (the default): one group, both kinds of correlation.
  const notified = groupWith(yName);
  await expect(notified.getByTestId('alert-row')).toHaveCount(3);
  await expect(notified).toContainText(mem.name);
  await expect(notified.getByTestId('alert-row').filter({ hasText: xName })).toHaveCount(2);

  await page.getByTestId('alert-grouping').getByRole('button', { name: 'By rule' }).click();
  await expect(titled(cpu.name).getByTestId('alert-row')).toHaveCount(2);
  await expect(titled(mem.name).getByTestId('alert-row')).toHaveCount(1);

  await page.getByTestId('alert-grouping').getByRole('button', { name: 'By agent' }).click();
  await expect(titled(xName).getByTestId('alert-row')).toHaveCount(2);
  await expect(titled(yName).getByTestId('alert-row')).toHaveCount(1);
});
