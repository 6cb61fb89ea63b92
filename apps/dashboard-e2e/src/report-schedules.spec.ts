import type { NotificationChannel } from '@agent-monitor/contracts';
import { ApiClient, expect, loginAsAdmin, test, unique } from './support/index.js';

test('schedule a weekly report to an email channel and run it now', async ({ page }) => {
  const api = await ApiClient.login();
  // No SMTP settings and no SMTP_URL on the e2e server: the run is recorded as failed, with why.
  const channel = await api.request<NotificationChannel>('POST', '/notification-channels', {
    type: 'email',
    name: unique('mail'),
    config: { to: ['reports@e2e.test'] },
  });
  const name = unique('weekly');
  await loginAsAdmin(page);
  await page.goto('/reports');
  await page.getByRole('button', { name: 'New schedule' }).click();
  const dialog = page.getByRole('dialog', { name: 'New scheduled report' });
  await dialog.getByLabel('Name').fill(name);
  await expect(dialog.getByLabel('Cron')).toHaveValue('0 8 * * 1');
  await dialog.getByLabel('Format').click();
  await page.getByRole('option', { name: 'CSV' }).click();
  await dialog.getByLabel('Email channels').click();
  await page.getByRole('option', { name: channel.name }).click();
  await page.keyboard.press('Escape');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(dialog).toBeHidden();

  const row = page.getByTestId(`schedule-row-${name}`);
  await expect(row).toContainText('CSV');
  await expect(row).toContainText('0 8 * * 1');
  await expect(row.getByLabel(`Enable ${name}`)).toBeChecked();
  await row.getByRole('button', { name: `Run ${name} now` }).click();
  await expect(row.getByTestId('last-run')).toContainText('failed');
  await row.getByLabel(`Enable ${name}`).click();
  await expect(row.getByLabel(`Enable ${name}`)).not.toBeChecked();
});
