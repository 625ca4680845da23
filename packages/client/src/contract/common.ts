/** Building blocks shared by several route groups. */
import * as z from 'zod';

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable error code, e.g. AGENT_NOT_FOUND, VALIDATION_FAILED'),
      message: z.string().describe('What happened and what to do next'),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'ErrorBody' });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const OkSchema = z.object({ ok: z.literal(true) });
export type Ok = z.infer<typeof OkSchema>;

/** Agent/team ids: the server checks the exact pattern and answers INVALID_ID. */
export const IdParamsSchema = z.object({ id: z.string().min(1).max(200) });

/** Epoch milliseconds. */
export const TimestampSchema = z.number().int();

export const LimitQuery = z.coerce.number().int().min(1).max(1000).optional();

/** A JSON object whose keys are not all known here (settings blocks); extra keys pass through. */
export const LooseObjectSchema = z.looseObject({});
