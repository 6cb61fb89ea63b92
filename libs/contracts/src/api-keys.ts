import { z } from 'zod';
import { API_KEY_SCOPES } from './enums.js';

export const API_KEY_PREFIX = 'am_';

export const CreateApiKeyRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(120),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
  /** Absolute expiry; omitted means the key does not expire. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
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
}

/** Returned once, at creation: the only time the secret is shown. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}
