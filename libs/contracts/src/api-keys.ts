import { z } from 'zod';
import { API_KEY_SCOPES } from './enums.js';
import { PageQuerySchema } from './common.js';

export const API_KEY_PREFIX = 'am_';

export const CreateApiKeyRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(120),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
  /** Absolute expiry; omitted means the key does not expire. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const ListApiKeysQuerySchema = PageQuerySchema.extend({
  /** Substring of the name or the prefix. */
  q: z.string().max(200).optional(),
  /** `false` hides revoked keys; omitted lists all. */
  revoked: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  /** Only the keys bound to this agent. */
  agentId: z.uuid().optional(),
});
export type ListApiKeysQuery = z.infer<typeof ListApiKeysQuerySchema>;
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;

export interface ApiKey {
  id: string;
  name: string;
  /** The first characters of the secret, enough to recognise it (`am_ab12cd34`). */
  prefix: string;
  scopes: (typeof API_KEY_SCOPES)[number][];
  /** Set for agent keys: the key may act only for this agent. */
  agentId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdBy: string | null;
  /** Email of the creating user, when one did (agent keys and keys made by keys have none). */
  createdByEmail: string | null;
}

/** Returned once, at creation: the only time the secret is shown. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}
