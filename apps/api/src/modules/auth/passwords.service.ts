import { Injectable, type OnModuleInit } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { badRequest } from '../../common/errors.js';
import { passwordProblem } from './password-policy.js';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~20–40 ms here). */
const ARGON2_OPTIONS: argon2.HashOptions = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** Hashing, verifying and the password policy, in one place for auth and users. */
@Injectable()
export class PasswordsService implements OnModuleInit {
  /** Verified against when the email is unknown, so both failures cost the same time. */
  private dummyHash = '';

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hash(randomBytes(16).toString('hex'));
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  /** Never throws: a malformed stored hash is a failed verification. */
  async verify(hash: string | null, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash ?? this.dummyHash, password);
    } catch {
      return false;
    }
  }

  /** Throws 400 naming `field` when the policy refuses the password. */
  assertAcceptable(password: string, email: string | undefined, field = 'password'): void {
    const problem = passwordProblem(password, email);
    if (problem) throw badRequest(`${field}: ${problem}`, [{ field, message: problem }]);
  }
}
