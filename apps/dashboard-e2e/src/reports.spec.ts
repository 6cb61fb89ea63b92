import { readFileSync } from 'node:fs';
import { expect, loginAsAdmin, test } from './support/index.js';

test('preview a report and download it as CSV and PDF', async ({ page }) => {
  await loginAsAdmin(page);
  await page.goto('/reports');
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByTestId('report-preview')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Fleet summary' })).toBeVisible();

  const [csv] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'CSV' }).click(),
  ]);
  expect(csv.suggestedFilename()).toMatch(/^agent-monitor-report-.*\.csv$/);
  const text = readFileSync(await csv.path(), 'utf8');
  expect(text.split('\r\n')[0]).toBe('section,subject_id,subject,measure,value');

  const [pdf] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'PDF' }).click(),
  ]);
  expect(pdf.suggestedFilename()).toMatch(/\.pdf$/);
  expect(
    readFileSync(await pdf.path())
      .subarray(0, 5)
      .toString(),
  ).toBe('%PDF-');
});
