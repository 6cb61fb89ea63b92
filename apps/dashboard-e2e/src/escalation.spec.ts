import type {
  AlertRule,
  EscalationPolicy,
  NotificationChannel,
  Page,
} from '@agent-monitor/contracts';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

/**
 * Escalation policies end to end: build a two-step policy in the step editor (channels picked
 * in a multi-select, steps reordered), pick it in a new rule, see the delete confirmation
 * refuse while the rule still uses it, unlink it from the rules table, then delete it.
 */
test('a policy made on the Escalation tab is picked in a rule and guarded against deletion', async ({
  page,
}) => {
  const api = await ApiClient.login();
  const primary = await api.request<NotificationChannel>('POST', '/notification-channels', {
    type: 'email',
    name: unique('primary'),
    config: { to: ['primary@example.com'] },
  });
  const secondary = await api.request<NotificationChannel>('POST', '/notification-channels', {
    type: 'email',
    name: unique('secondary'),
    config: { to: ['secondary@example.com'] },
  });

  await loginAsAdmin(page);
  await page.goto('/alerts/escalation-policies');
  await expect(page.getByRole('tab', { name: 'Escalation' })).toHaveAttribute(
    'aria-selected',
    'true',
  );
  await page.getByTestId('new-policy').first().click();
  const policyName = unique('On-call');
  await page.getByTestId('policy-name').fill(policyName);
  await page.getByTestId('policy-step-minutes-0').fill('0');
  await page.getByTestId('policy-step-channels-0').click();
  await page.getByRole('option', { name: new RegExp(primary.name) }).click();
  await page.keyboard.press('Escape');

  await page.getByTestId('policy-add-step').click();
  await page.getByTestId('policy-step-minutes-1').fill('15');
  await page.getByTestId('policy-step-channels-1').click();
  await page.getByRole('option', { name: new RegExp(secondary.name) }).click();
  await page.getByRole('option', { name: new RegExp(primary.name) }).click();
  await page.keyboard.press('Escape');

  // Reordering so minutes decrease is flagged and blocks saving; moving it back clears it.
  await page.getByRole('button', { name: 'Move step 2 up' }).click();
  await expect(page.getByTestId('policy-problem')).toContainText('must not decrease');
  await expect(page.getByTestId('policy-save')).toBeDisabled();
  await page.getByRole('button', { name: 'Move step 1 down' }).click();
  await expect(page.getByTestId('policy-problem')).toHaveCount(0);
  await page.getByTestId('policy-save').click();

  const row = page.getByRole('row').filter({ hasText: policyName });
  await expect(row).toBeVisible();
  await expect(row).toContainText(`1. after 0 min → ${primary.name}`);
  await expect(row).toContainText(`2. after 15 min → ${secondary.name}, ${primary.name}`);
  await expect(row).toContainText('no rules');

  const policies = await api.request<Page<EscalationPolicy>>('GET', '/escalation-policies');
  const policy = policies.items.find((p) => p.name === policyName);
  expect(policy?.steps).toEqual([
    { afterMinutes: 0, channelIds: [primary.id] },
    { afterMinutes: 15, channelIds: [secondary.id, primary.id] },
  ]);

  await page.getByRole('tab', { name: 'Rules' }).click();
  await page.getByTestId('new-rule').click();
  const ruleName = unique('Disk full');
  await page.getByTestId('rule-name').fill(ruleName);
  await page.getByTestId('condition-metric').fill('disk_used_pct');
  await page.getByTestId('condition-value').fill('95');
  await page.getByTestId('rule-escalation-policy').click();
  await page.getByRole('option', { name: new RegExp(policyName) }).click();
  await page.getByTestId('rule-save').click();
  const ruleRow = page.getByRole('row').filter({ hasText: ruleName });
  await expect(ruleRow).toBeVisible();
  await expect(ruleRow).toContainText(policyName);
  const rules = await api.request<Page<AlertRule>>('GET', '/alerts/rules?limit=500');
  expect(rules.items.find((r) => r.name === ruleName)?.escalationPolicyId).toBe(policy?.id);

  // Deleting it while the rule uses it: the confirmation shows the API's refusal.
  await page.getByRole('tab', { name: 'Escalation' }).click();
  await expect(row).toContainText('1 rule(s)');
  await row.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(ruleName);
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(dialog.getByRole('alert')).toContainText(ruleName);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(row).toBeVisible();

  // Point the rule at no policy from the rules table; then the policy can go.
  await page.getByRole('tab', { name: 'Rules' }).click();
  await ruleRow.getByRole('combobox').click();
  await page.getByRole('option', { name: 'None' }).click();
  await expect(page.getByText('Escalation policy changed')).toBeVisible();
  const after = await api.request<Page<AlertRule>>('GET', '/alerts/rules?limit=500');
  expect(after.items.find((r) => r.name === ruleName)?.escalationPolicyId).toBeNull();
  await page.getByRole('tab', { name: 'Escalation' }).click();
  await expect(row).toContainText('no rules');
  await row.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('Escalation policy deleted')).toBeVisible();
  await expect(row).toHaveCount(0);
});
