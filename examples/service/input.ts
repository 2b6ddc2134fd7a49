// What the routes accept, derived from the Drizzle tables (drizzle-zod) and checked by Hono's zod validator before a
// handler runs. Strict: a wrong type or an unknown field is a 400 that names the field, never a value stored as
// "[object Object]". Text fields have length limits here (the columns are unbounded `text`).
import { zValidator } from '@hono/zod-validator';
import { createInsertSchema, createUpdateSchema } from 'drizzle-zod';
import type { Context, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { posts, users } from './server/db/entities/index.js';

export const LIMITS = { email: 254, name: 100, title: 200, body: 10_000, pageSize: 100 } as const;

/** The one error body of this service (and of @spfn/core's error handler). */
export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

const userColumns = {
  email: (s: z.ZodString) => s.max(LIMITS.email).pipe(z.email()),
  name: (s: z.ZodString) => s.min(1).max(LIMITS.name),
};
const postColumns = {
  authorId: (s: z.ZodNumber) => s.int().positive(),
  title: (s: z.ZodString) => s.min(1).max(LIMITS.title),
  body: (s: z.ZodString) => s.max(LIMITS.body),
};

export const newUser = createInsertSchema(users, userColumns).pick({ email: true, name: true }).strict();
export const userChanges = nonEmpty(createUpdateSchema(users, userColumns).pick({ email: true, name: true }).strict());
export const newPost = createInsertSchema(posts, postColumns)
  .pick({ authorId: true, title: true, body: true })
  .strict();
export const postChanges = nonEmpty(createUpdateSchema(posts, postColumns).pick({ title: true, body: true }).strict());
export const signup = z.object({ user: newUser, post: newPost.omit({ authorId: true }) }).strict();

/** A positive integer written in decimal digits only: `0x10`, `1e3`, `+1`, ` 7` and `1.0` are refused. */
const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'expected a positive integer in decimal digits')
    .transform(Number)
    .pipe(z.number().max(max, `expected at most ${max}`));

export const idParam = z.object({ id: positiveInt(Number.MAX_SAFE_INTEGER) }).strict();
export const paging = z
  .object({
    page: positiveInt(1_000_000).default(1),
    size: positiveInt(LIMITS.pageSize).default(20),
  })
  .strict();
export const slowQuery = z
  .object({
    ms: z
      .string()
      .regex(/^[0-9]{1,5}$/, 'expected milliseconds in decimal digits')
      .transform(Number)
      .pipe(z.number().max(60_000, 'expected at most 60000'))
      .default(1000),
    timeout: z
      .string()
      .regex(/^[0-9]{1,7}$/, 'expected milliseconds in decimal digits')
      .transform(Number)
      .optional(),
    email: newUser.shape.email.optional(),
  })
  .strict();

function nonEmpty<T extends z.ZodObject>(schema: T) {
  return schema.refine((value) => Object.values(value).some((v) => v !== undefined), {
    message: 'expected at least one field to change',
  });
}

/** `email: Invalid input: expected string, received number; title: Too big: …` — field names, never values. */
function describe(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.map(String).join('.')];
      const field = keys.map((k) => (k === '' ? 'body' : k.slice(0, 40))).join(', ');
      const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
      return `${field}: ${message}`;
    })
    .join('; ');
}

/**
 * Hono's zod validator with this service's 400 body. For `json`, the request must say `Content-Type:
 * application/json` (415 otherwise) and carry valid JSON (400 INVALID_JSON otherwise).
 */
export function valid<T extends z.ZodType, Target extends 'json' | 'query' | 'param'>(target: Target, schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success) return c.json(errorBody('VALIDATION_ERROR', describe(result.error)), 400);
    return undefined;
  });
}

/** Refuses bodies that are not JSON before the validator reads them (it would treat them as `{}`). */
export const jsonBody: MiddlewareHandler = async function jsonBody(c: Context, next) {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return c.json(errorBody('UNSUPPORTED_MEDIA_TYPE', 'expected Content-Type: application/json'), 415);
  }
  try {
    await c.req.json(); // parsed once; the validator reads Hono's cached copy
  } catch {
    return c.json(errorBody('INVALID_JSON', 'the request body is not valid JSON'), 400);
  }
  await next();
  return undefined;
};
