import { expect, type Page } from '@playwright/test';
import { E2E_ADMIN } from '../../playwright.config.js';

/**
 * Log in through the real login page and wait for the app shell. If the page already shows
 * the login page (e.g. `/login?next=…` after a redirect), it logs in there, keeping `next`.
 */
export async function loginAs(
  page: Page,
  email = E2E_ADMIN.email,
  password = E2E_ADMIN.password,
): Promise<void> {
  if (new URL(page.url(), 'http://x').pathname !== '/login') await page.goto('/login');
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
}

export const loginAsAdmin = (page: Page) => loginAs(page);

/** Log out through the profile menu and wait for the login page. */
export async function logout(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Account menu' }).click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
}

/** The left navigation drawer (use `nav.getByRole('link', { name: 'Agents' })`). */
export function mainNav(page: Page) {
  return page.getByRole('navigation', { name: 'Main' });
}

/** 'light' | 'dark': the scheme the app currently shows. */
export async function currentScheme(page: Page): Promise<'light' | 'dark'> {
  return page.evaluate(() =>
    document.documentElement.classList.contains('dark') ? 'dark' : 'light',
  );
}
