import {
  currentScheme,
  expect,
  loginAs,
  loginAsAdmin,
  logout,
  mainNav,
  test,
  unique,
} from './support/index.js';

/**
 * The foundation end to end, through the real pages of the built app served by the API:
 * an admin signs in, switches to dark mode (kept across a reload), creates a viewer and an API
 * key (secret shown once, copy button), finds both in the audit log and signs out; the viewer
 * then finds no admin page, neither in the navigation nor by URL.
 */
test.setTimeout(180_000);

test.use({
  colorScheme: 'light',
  permissions: ['clipboard-read', 'clipboard-write'],
});

test('admin manages users, keys and audit; a viewer sees no admin pages', async ({ page }) => {
  const viewer = {
    name: 'Vera Viewer',
    email: `${unique('vera')}@e2e.test`,
    password: `Viewer-${unique('pw')}`,
  };
  const keyName = unique('ci-runner');

  await test.step('admin logs in and sees the admin navigation', async () => {
    await loginAsAdmin(page);
    const nav = mainNav(page);
    for (const name of ['Overview', 'Users', 'API keys', 'Audit log']) {
      await expect(nav.getByRole('link', { name })).toBeVisible();
    }
    await expect(page.getByTestId('welcome-role')).toHaveText('admin');
    // The live socket connects with the access token right after login.
    await expect(page.locator('[data-connection="connected"]')).toBeVisible();
  });

  await test.step('dark mode toggles and persists across a reload', async () => {
    expect(await currentScheme(page)).toBe('light');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    expect(await currentScheme(page)).toBe('dark');
    const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(darkBg).toBe('rgb(11, 15, 23)');
    await page.reload();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    expect(await currentScheme(page)).toBe('dark');
    await expect(page.getByRole('button', { name: 'Switch to light theme' })).toBeVisible();
  });

  await test.step('admin creates a viewer', async () => {
    await mainNav(page).getByRole('link', { name: 'Users' }).click();
    await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel('Name').fill(viewer.name);
    await dialog.getByLabel('Email').fill(viewer.email);
    await dialog.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: 'viewer' }).click();
    await dialog.getByLabel('Initial password').fill(viewer.password);
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await expect(dialog).toBeHidden();
    const row = page.getByTestId(`user-row-${viewer.email}`);
    await expect(row).toBeVisible();
    await expect(row.getByText('viewer', { exact: true })).toBeVisible();
  });

  let secret = '';
  await test.step('admin creates an API key; the secret is shown once with a copy button', async () => {
    await mainNav(page).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'New API key' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'New API key' });
    await dialog.getByLabel('Name').fill(keyName);
    await dialog.getByRole('checkbox', { name: /^read/ }).check();
    await dialog.getByRole('button', { name: 'Create key' }).click();

    const shown = page.getByRole('dialog', { name: 'API key created' });
    await expect(shown).toBeVisible();
    await expect(shown.getByText(/shown only once/)).toBeVisible();
    secret = (await shown.getByTestId('api-key-secret').textContent()) ?? '';
    expect(secret).toMatch(/^am_[A-Za-z0-9]{20,}$/);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await expect(shown.getByRole('button', { name: 'Copied' })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await shown.getByRole('button', { name: 'Done' }).click();
    await expect(shown).toBeHidden();

    const row = page.getByTestId(`api-key-row-${keyName}`);
    await expect(row).toBeVisible();
    await expect(row.getByText('agents:register')).toBeVisible();
    await expect(row.getByText('read', { exact: true })).toBeVisible();
    // Never again: not in the list, not after a reload.
    await expect(page.getByText(secret)).toHaveCount(0);
    await page.reload();
    await expect(row).toBeVisible();
    expect(await page.content()).not.toContain(secret);
  });

  await test.step('both actions are in the audit log, with their changes', async () => {
    await mainNav(page).getByRole('link', { name: 'Audit log' }).click();
    await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
    const action = page.getByLabel('Action contains');

    await action.fill('user.create');
    // Filters live in the URL, so the filtered view can be bookmarked.
    await expect(page).toHaveURL(/[?&]action=user\.create/);
    const userRow = page.locator('[data-testid="audit-row"][data-action="user.create"]').first();
    await expect(userRow).toBeVisible();
    await expect(
      page.locator('[data-testid="audit-row"]:not([data-action*="user.create"])'),
    ).toHaveCount(0);
    await userRow.click();
    await expect(page.getByTestId('audit-changes').first()).toContainText(viewer.email);

    await action.fill('api_key.create');
    const keyRow = page.locator('[data-testid="audit-row"][data-action="api_key.create"]').first();
    await expect(keyRow).toBeVisible();
    await expect(keyRow).toContainText('admin@e2e.test');
    await keyRow.click();
    await expect(page.getByTestId('audit-changes').first()).toContainText(keyName);
    expect(await page.content()).not.toContain(secret);

    await logout(page);
  });

  await test.step('the viewer finds no admin pages, in the nav or by URL', async () => {
    await loginAs(page, viewer.email, viewer.password);
    await expect(page.getByTestId('welcome-role')).toHaveText('viewer');
    const nav = mainNav(page);
    await expect(nav.getByRole('link', { name: 'Overview' })).toBeVisible();
    for (const name of ['Users', 'API keys', 'Audit log']) {
      await expect(nav.getByRole('link', { name })).toHaveCount(0);
    }
    await expect(nav.getByText('Admin', { exact: true })).toHaveCount(0);
    await expect(page.getByRole('link', { name: 'Create an API key' })).toHaveCount(0);

    for (const path of ['/admin/users', '/admin/api-keys', '/admin/audit']) {
      await page.goto(path);
      await expect(page.getByText("You don't have access to this page")).toBeVisible();
      await expect(page.getByRole('table')).toHaveCount(0);
    }
    await logout(page);
  });

  await test.step('after logout, pages need a login again (and remember where to go)', async () => {
    await page.goto('/admin/users');
    await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Fusers$/);
    await loginAsAdmin(page);
    await expect(page).toHaveURL(/\/admin\/users$/);
    await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  });

  await test.step('a session the server refuses sends the user to login, keeping the path', async () => {
    await page.evaluate(() => localStorage.setItem('am-refresh-token', 'revoked-or-forged-token'));
    await page.goto('/admin/audit?outcome=failure');
    await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Faudit%3Foutcome%3Dfailure$/);
    await expect(page.getByText('Please sign in to continue.')).toBeVisible();
    expect(await page.evaluate(() => localStorage.getItem('am-refresh-token'))).toBeNull();
  });
});
