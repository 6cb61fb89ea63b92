import { test as base, expect, type Page } from '@playwright/test';

/**
 * Collects browser console errors/warnings and uncaught page errors; the `test` exported here
 * fails any test that produced one (after its own assertions ran). Add known, harmless noise to
 * `ignore` with a comment saying why.
 */
export interface ConsoleProblems {
  messages: string[];
  /** Patterns to tolerate in this test (e.g. an expected 401 resource error). */
  ignore: RegExp[];
}

export function collectConsoleProblems(page: Page): ConsoleProblems {
  const problems: ConsoleProblems = { messages: [], ignore: [] };
  page.on('console', (msg) => {
    const type = msg.type();
    if (type !== 'error' && type !== 'warning') return;
    const text = msg.text();
    // Chromium logs every non-2xx fetch as a console error ("Failed to load resource: the server
    // responded with a status of 401"). Those are API answers the UI handles (wrong password,
    // an expired token before its refresh), not page errors.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    problems.messages.push(`[console.${type}] ${text}`);
  });
  page.on('pageerror', (err) => problems.messages.push(`[pageerror] ${err.message}`));
  return problems;
}

/** `test` with a `consoleProblems` fixture that fails the test on any console error or warning. */
export const test = base.extend<{ consoleProblems: ConsoleProblems }>({
  consoleProblems: [
    async ({ page }, use) => {
      const problems = collectConsoleProblems(page);
      await use(problems);
      const real = problems.messages.filter((m) => !problems.ignore.some((re) => re.test(m)));
      expect(real, 'browser console errors/warnings').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
