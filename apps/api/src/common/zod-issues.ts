import type { ZodError } from 'zod';

/** One validation problem: the field's path and a message that names it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** A ZodError as field issues (a 400's details). Pure: the parser thread uses it too. */
export function zodIssues(err: ZodError): FieldIssue[] {
  return err.issues.map((i) => {
    const field = i.path.map(String).join('.') || '(body)';
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `unknown field(s): ${i.keys.join(', ')}`;
    return { field, message: field === '(body)' ? message : `${field}: ${message}` };
  });
}
