import { BASE_URL } from '../playwright.config.js';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

async function post(path: string, key: string, body: unknown): Promise<void> {
  const res = await fetch(`${BASE_URL}/api/v2${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

test('the task board moves a card live when the agent completes the task', async ({ page }) => {
  const api = await ApiClient.login();
  const agent = await api.request<{ id: string; agentKey: string }>('POST', '/agents/register', {
    name: unique('coder'),
    type: 'llm_agent',
    host: 'e2e',
  });
  const taskId = unique('TASK');
  await post(`/agents/${agent.id}/events`, agent.agentKey, {
    type: 'created',
    taskId,
    title: 'Write the e2e test',
  });
  await post(`/agents/${agent.id}/events`, agent.agentKey, {
    type: 'assigned',
    taskId,
    assignee: 'coder',
  });

  await loginAsAdmin(page);
  await page.goto('/activity');
  const card = page.getByTestId(`task-card-${taskId}`);
  await expect(
    page.getByTestId('column-in_progress').getByTestId(`task-card-${taskId}`),
  ).toBeVisible();
  await expect(page.locator('[data-connection="connected"]')).toBeVisible();

  // The agent completes it (as the simulator's coding agents do): the card moves, no reload.
  await post(`/agents/${agent.id}/events`, agent.agentKey, {
    type: 'completed',
    taskId,
    statusBefore: 'in_progress',
  });
  await expect(page.getByTestId('column-done').getByTestId(`task-card-${taskId}`)).toBeVisible();
  await expect(card).toHaveCount(1);

  await post(`/agents/${agent.id}/commits`, agent.agentKey, {
    hash: 'e2e0000' + Math.floor(Math.random() * 1e8).toString(16),
    branch: 'main',
    author: 'coder',
    message: 'Add the e2e test',
    linesAdded: 12,
    committedAt: new Date().toISOString(),
  });
  await page.getByRole('tab', { name: 'Commits' }).click();
  await expect(page.getByText('Add the e2e test')).toBeVisible();
  await page.getByRole('tab', { name: 'Velocity & agents' }).click();
  await expect(page.getByTestId('velocity-total')).toContainText('completed');
});
