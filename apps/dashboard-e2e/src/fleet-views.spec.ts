import type { AgentGroup } from '@agent-monitor/contracts';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

/** Regions as an agents-page filter, nested groups and a group's member metrics on the groups page. */
test('filter agents by region; a nested group shows in its parent with member metrics', async ({
  page,
}) => {
  const api = await ApiClient.login();
  const prefix = unique('rg');
  const ids: string[] = [];
  for (const [i, region] of ['eu-x', 'eu-x', 'us-x'].entries()) {
    const a = await api.request<{ id: string }>('POST', '/agents/register', {
      name: `${prefix}-${i}`,
      type: 'worker',
      host: `${prefix}-${i}.lan`,
      metadata: { region },
      tags: { fleet: prefix },
    });
    ids.push(a.id);
  }
  await api.request('POST', '/metrics/batch', {
    samples: ids.map((agentId, i) => ({ agentId, metrics: { cpu_usage: 10 + i * 20 } })),
  });
  const parent = await api.request<AgentGroup>('POST', '/agent-groups', {
    name: `${prefix}-parent`,
    agentIds: [ids[2]],
  });
  await api.request('POST', '/agent-groups', {
    name: `${prefix}-child`,
    tagSelector: { fleet: prefix },
    parentId: parent.id,
  });

  await loginAsAdmin(page);
  await page.goto(`/agents?q=${prefix}`);
  const rows = page.getByTestId('agent-row');
  await expect(rows).toHaveCount(3);
  await page.getByTestId('filter-region').fill('eu-x');
  await expect(rows).toHaveCount(2);
  await expect(page).toHaveURL(/region=eu-x/);

  await page.goto('/groups');
  const row = page.getByTestId(`group-row-${prefix}-parent`);
  await expect(row).toContainText('1 subgroup');
  await expect(row.getByTestId('member-count')).toHaveText('3');
  await expect(page.getByTestId(`group-row-${prefix}-child`)).toContainText(`in ${prefix}-parent`);
  await row.getByRole('button', { name: 'Show members' }).click();
  const cpu = page.getByTestId('group-metric-cpu_usage');
  await expect(cpu).toContainText('30'); // avg of 10, 30, 50
  await expect(cpu).toContainText('50');
});
