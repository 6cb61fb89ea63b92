import { z } from 'zod';
import { ROLES } from './enums.js';
import { EmailSchema, PasswordSchema } from './auth.js';
import { PageQuerySchema } from './common.js';

export const CreateUserRequestSchema = z.strictObject({
  email: EmailSchema,
  name: z.string().trim().min(1).max(120),
  role: z.enum(ROLES),
  password: PasswordSchema,
});
export type CreateUserRequest = z.infer<typeof CreateUserRequestSchema>;

export const UpdateUserRequestSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(120).optional(),
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
    password: PasswordSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'at least one field is required' });
export type UpdateUserRequest = z.infer<typeof UpdateUserRequestSchema>;

export const ListUsersQuerySchema = PageQuerySchema.extend({
  q: z.string().max(200).optional(),
  role: z.enum(ROLES).optional(),
  disabled: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});
export type ListUsersQuery = z.infer<typeof ListUsersQuerySchema>;
