import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/config.js';
import { passwordProblem } from './password-policy.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

describe('password policy', () => {
  it('ships a list of several hundred common passwords in lower case', () => {
    expect(COMMON_PASSWORDS.size).toBeGreaterThanOrEqual(500);
    for (const p of COMMON_PASSWORDS) expect(p).toBe(p.toLowerCase());
    expect(COMMON_PASSWORDS.has('password')).toBe(true);
    expect(COMMON_PASSWORDS.has('12345678')).toBe(true);
  });

  it('accepts long, uncommon passwords', () => {
    for (const p of [
      'Correct-Horse-Battery-9',
      'tr0ub4dor&3x',
      'glacier mango 42 violin',
      'ß€😀ünïcødé-ok',
    ]) {
      expect({ p, problem: passwordProblem(p) }).toEqual({ p, problem: null });
    }
  });

  it('refuses passwords that are too short or too long', () => {
    expect(passwordProblem('Ab1!xyz')).toMatch(/at least 8/);
    expect(passwordProblem('x'.repeat(255) + 'yz')).toMatch(/at most 256/);
    expect(passwordProblem('Zq7!kW2@' + 'a'.repeat(248))).toBeNull(); // exactly 256
  });

  it('refuses common passwords in any letter case', () => {
    for (const p of [
      'password',
      'PASSWORD1',
      'Qwertyuiop',
      'iloveyou',
      '12345678',
      'Passw0rd',
      'letmein1',
    ]) {
      expect({ p, problem: passwordProblem(p) }).toEqual({
        p,
        problem: expect.stringMatching(/common/),
      });
    }
  });

  it('refuses common words with digits or symbols tacked on', () => {
    for (const p of ['Password123!', '!!sunshine99', 'Welcome2024!', 'football#7', 'Dragon2026']) {
      expect({ p, problem: passwordProblem(p) }).toEqual({
        p,
        problem: expect.stringMatching(/common/),
      });
    }
  });

  it('refuses one repeated character and the email address', () => {
    expect(passwordProblem('zzzzzzzzzzzz')).toMatch(/repeated/);
    expect(passwordProblem('jane.doe@example.com', 'jane.doe@example.com')).toMatch(/email/);
    expect(passwordProblem('Jane.Doe1', 'jane.doe@example.com')).toMatch(/email/);
    expect(passwordProblem('jane.doe is my friend', 'jane.doe@example.com')).toBeNull();
  });
});

describe('ADMIN_PASSWORD at configuration load', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'am-cfg-'));
  it('stops with one line naming the variable when the policy refuses it', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'Password123!' })).toThrow(
      /^Invalid configuration: ADMIN_PASSWORD .*common/,
    );
    expect(() => loadConfig({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'short' })).toThrow(
      'Invalid configuration: ADMIN_PASSWORD must be at least 8 characters',
    );
    expect(
      loadConfig({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'Correct-Horse-Battery-9' }).ADMIN_PASSWORD,
    ).toBe('Correct-Horse-Battery-9');
  });
});
