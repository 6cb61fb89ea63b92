import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '@agent-monitor/contracts';
import { COMMON_PASSWORDS } from './common-passwords.js';

/**
 * Why a new password is refused, or null when it is acceptable. Length bounds come from the
 * contract (the schemas check them too); on top of them a password is refused when it is a
 * common password, a common password with a few digits or symbols around it
 * (`Password123!`), one repeated character, or the user's own email or its name part.
 */
export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) {
    return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  }
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is too common; choose a less guessable password';
  // Strip up to four leading/trailing digits or symbols: `Welcome2024!` → `welcome`.
  const core = lower.replace(/^[\d\W_]{1,4}/, '').replace(/[\d\W_]{1,4}$/, '');
  if (core !== lower && core.length >= 4 && COMMON_PASSWORDS.has(core)) {
    return 'is a common password with a few characters added; choose a less guessable password';
  }
  if (/^(.)\1*$/.test(password)) return 'must not be one repeated character';
  if (email) {
    const e = email.toLowerCase();
    const local = e.split('@')[0];
    if (
      lower === e ||
      (local.length >= 4 && lower.includes(local) && lower.length - local.length < 4)
    ) {
      return 'must not be based on your email address';
    }
  }
  return null;
}
