import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import { z, type ZodObject, type ZodType } from 'zod';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: ZodType): JsonSchema {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** Documents a request body from its contract schema (the same one that validates it). */
export const ApiZodBody = (schema: ZodType, description?: string) =>
  ApiBody({ schema: jsonSchema(schema) as never, description });

/** Documents each query parameter of a contract schema. */
export function ApiZodQuery(schema: ZodObject) {
  const props = (jsonSchema(schema).properties ?? {}) as Record<string, JsonSchema>;
  return applyDecorators(
    ...Object.entries(props).map(([name, s]) =>
      ApiQuery({
        name,
        required: false,
        schema: s as never,
        description: s.description as string | undefined,
      }),
    ),
  );
}
