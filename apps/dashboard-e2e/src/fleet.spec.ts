import { BASE_URL } from '../playwright.config.js';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

interface Sim {
  id: string;
  key: string;
  applied: number;
  config: Record<string, unknown>;
}

/** Heartbeats like the SDK: applies the config it is handed and echoes its version. */
async function beat(a: Sim): Promise<void> {
  const res = await fetch(`${BASE_URL}/api/v2/agents/${a.id}/heartbeat`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${a.key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ appliedConfigVersion: a.applied }),
  });
  if (!res.ok) throw new Error(`heartbeat ${res.status}`);
  const body = (await res.json()) as { configVersion: number; config?: Record<string, unknown> };
  if (body.config) {
    a.config = body.config;
    a.applied = body.configVersion;
  }
}

test('create a group by tag, push a config and watch the staged rollout finish', async ({
  page,
}) => {
  const api = await ApiClient.login();
  const tag = unique('pw');
  const groupName = unique('group');
  const fleet: Sim[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await api.request<{ id: string; agentKey: string; configVersion: number }>(
      'POST',
      '/agents/register',
      { name: `${tag}-${i}`, type: 'web_server', host: 'e2e', tags: { rollout: tag } },
    );
    fleet.push({ id: r.id, key: r.agentKey, applied: r.configVersion, config: {} });
  }
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(fleet.map(beat));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  try {
    await loginAsAdmin(page);
    await page.goto('/groups');
    await page.getByRole('button', { name: 'New group' }).click();
    await page.getByLabel('Name').fill(groupName);
    await page.getByLabel('Tag selector').fill(`rollout=${tag}`);
    await page.getByRole('button', { name: 'Create' }).click();
    const row = page.getByTestId(`group-row-${groupName}`);
    await expect(row.getByTestId('member-count')).toHaveText('4');

    await row.getByRole('button', { name: `Push config to ${groupName}` }).click();
    await page.getByLabel('Config JSON').fill('{"logLevel": "debug"}');
    await page.getByLabel('Batch size').fill('2');
    await page.getByLabel('Canary %').fill('25');
    await page.getByLabel('Pause (s)').fill('0.5');
    await page.getByRole('button', { name: 'Start rollout' }).click();

    // Live: the panel goes from running to completed without a reload.
    await expect(page.getByTestId('rollout')).toBeVisible();
    await expect(page.getByTestId('rollout')).toHaveAttribute('data-state', 'completed', {
      timeout: 30_000,
    });
    await expect(page.getByTestId('rollout')).toContainText('4/4 applied');
    for (const a of fleet) expect(a.config).toMatchObject({ logLevel: 'debug' });
  } finally {
    running = false;
    await loop;
  }
});
