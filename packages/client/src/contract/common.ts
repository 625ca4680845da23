/** Building blocks shared by several route groups. */
import * as z from 'zod';

/*
 * Field schemas used all over the contract, made once. A zod schema is immutable, so one instance
 * serves every field; and each chained call keeps its parent alive, so a fresh
 * `z.string().min(1).max(64)` per field costs ~4 KB of every process that loads the contract
 * (the daemon keeps ~470 such fields; docs/profiling.md, round 10).
 */
export const Str = z.string();
export const Num = z.number();
export const Bool = z.boolean();
export const Int = z.number().int();
export const OptionalInt = Int.optional();
export const OptionalStr = Str.optional();
export const StrArray = z.array(Str);
export const NullableStr = Str.nullable();
export const OptionalNum = Num.optional();
export const OptionalBool = Bool.optional();
export const OptionalPositive = z.number().positive().optional();
export const OptionalCount = z.int().nonnegative().optional();
/** Names: agent, team and channel ids, senders. */
export const ShortText = z.string().min(1).max(64);
export const OptionalShortText = ShortText.optional();
/** Ids of records (conversations, tasks, schedules) and other short keys. */
export const IdText = z.string().min(1).max(200);
export const OptionalIdText = IdText.optional();
export const OptionalMax200 = z.string().max(200).optional();
export const OptionalLongText = z.string().max(100_000).optional();

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
export const IdParamsSchema = z.object({ id: IdText });

/** Epoch milliseconds. */
export const TimestampSchema = Int;
export const NullableTimestamp = TimestampSchema.nullable();

/** A file system path in a body: no NUL byte (core's settings schema checks the same). */
export const PathString = (max: number) =>
  z
    .string()
    .max(max)
    .refine((path) => !path.includes('\0'), { error: 'A path must not contain a NUL byte' });

/**
 * A non-negative integer in a query string or path: digits only. z.coerce.number() would take
 * `0x1F`, `+1`, `1e3` or ' ' (as 0); those are refused. Typed clients may pass a number; the
 * OpenAPI document shows an integer with its bounds.
 */
export function IntParam(min: number, max = Number.MAX_SAFE_INTEGER) {
  // Digits become a number; anything else reaches z.int() as it came and is refused there.
  const digits = (value: unknown): unknown => (typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value);
  return z.preprocess(
    digits,
    z
      .int({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a whole number written in digits, e.g. 20' : undefined) })
      .min(min)
      .max(max),
  );
}

export const LimitQuery = IntParam(1, 1000).optional();

/**
 * A yes-or-no query parameter, optional: `true` or `false`, as a query string writes them (a query
 * has no JSON booleans; z.coerce.boolean() would read `false` as true). Typed clients pass a boolean.
 */
export const BoolQuery = z
  .preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean({ error: (issue) => (issue.code === 'invalid_type' ? 'must be true or false' : undefined) }))
  .optional();

/** A JSON object whose keys are not all known here (settings blocks); extra keys pass through. */
export const LooseObjectSchema = z.looseObject({});

/**
 * A node's name (`tinyagi worker --name`, the local `node.name`, default the host name): what an
 * agent's `node` refers to. Host-name-like, so the default is always valid.
 */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const NodeNameSchema = z.string().regex(NODE_NAME_PATTERN, {
  error: 'must be a node name such as "gpu-box" or "worker-2": letters, digits and . _ -, starting with a letter or digit, at most 63 characters',
});
