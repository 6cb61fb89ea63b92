import { z } from 'zod';
import { PageQuerySchema } from './common.js';
import { EscalationStepSchema, type EscalationStep } from './alerts.js';

/**
 * Escalation policies: reusable, ordered steps `{afterMinutes, channelIds}` that rules
 * reference by id. Step `afterMinutes` counts from when the alert fired; an unacknowledged
 * firing alert moves to the next step when it is due, an ack stops it, and an ack with an
 * expiry resumes it (the remaining steps keep their spacing from the moment it resumed).
 * With `repeatEveryMinutes`, the last step is sent again at that interval until acked or
 * resolved (Alertmanager's repeat_interval).
 */
const Steps = z
  .array(EscalationStepSchema)
  .min(1, 'a policy needs at least one step')
  .max(10)
  .refine(
    (steps) => steps.every((s, i) => i === 0 || s.afterMinutes >= steps[i - 1].afterMinutes),
    'steps are ordered: afterMinutes must not decrease from one step to the next',
  );

const PolicyFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullable().optional(),
  steps: Steps,
  /** Re-send the last step this often while the alert stays unacknowledged; null: never. */
  repeatEveryMinutes: z.number().min(1).max(10_080).nullable().optional(),
};

export const CreateEscalationPolicySchema = z.strictObject(PolicyFields);
export type CreateEscalationPolicy = z.infer<typeof CreateEscalationPolicySchema>;
export type CreateEscalationPolicyInput = z.input<typeof CreateEscalationPolicySchema>;

export const UpdateEscalationPolicySchema = z
  .strictObject(PolicyFields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'nothing to update');
export type UpdateEscalationPolicy = z.infer<typeof UpdateEscalationPolicySchema>;

export interface EscalationPolicy {
  id: string;
  name: string;
  description: string | null;
  steps: EscalationStep[];
  repeatEveryMinutes: number | null;
  /** Rules that reference this policy (id and name). */
  rules: Array<{ id: string; name: string }>;
  createdAt: string;
  updatedAt: string;
}

export const ListEscalationPoliciesQuerySchema = PageQuerySchema.extend({
  q: z.string().max(200).optional(),
});
export type ListEscalationPoliciesQuery = z.infer<typeof ListEscalationPoliciesQuerySchema>;
