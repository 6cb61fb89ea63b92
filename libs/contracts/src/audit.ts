import { z } from 'zod';
import { PageQuerySchema } from './common.js';

export const AUDIT_OUTCOMES = ['success', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditLogEntry {
  id: string;
  at: string;
  actorType: 'user' | 'api_key' | 'system' | 'anonymous';
  actorId: string | null;
  actorLabel: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  requestId: string | null;
  changes: Record<string, unknown> | null;
}

export const ListAuditLogsQuerySchema = PageQuerySchema.extend({
  actorId: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  resourceType: z.string().max(100).optional(),
  resourceId: z.string().max(100).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type ListAuditLogsQuery = z.infer<typeof ListAuditLogsQuerySchema>;
