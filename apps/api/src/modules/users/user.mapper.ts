import type { User } from '@agent-monitor/contracts';
import type { UserEntity } from './user.entity.js';

/** The public shape of a user: never the password hash. */
export function toUser(u: UserEntity): User {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    disabled: u.disabled,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
  };
}
