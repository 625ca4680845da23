/**
 * The settings.json schema: the shape is the contract's SettingsFileSchema (so TinyOffice's forms
 * validate with the same schema), re-exported here under core's names; this file adds cross-key validation.
 *
 * Contract:
 * - Every object is loose: keys this version does not know are kept, so a file written by a
 *   newer TinyAGI or by the reference never loses data when we write it back.
 * - The schema validates only; it has no defaults and no transforms, so a valid file parses to
 *   exactly what is on disk. Defaults live in ./defaults.ts (`effectiveLimits`, `agentDefaults`,
 *   …) and are never written into the user's file.
 * - Validation that spans keys (id format, uniqueness, team membership, provider references) is in
 *   ./cross-key.ts and runs even when some value has the wrong type, so one load reports every problem.
 */
import type { z } from 'zod';
import { validateCrossKeys } from './cross-key.ts';

import {
  type AgentSettingsSchema,
  type BudgetsSettingsSchema,
  type CustomProviderSettingsSchema,
  type LimitsSettingsSchema,
  type MockReplySchema,
  type MockScriptSchema,
  type ProviderNameSchema,
  SettingsFileSchema,
  type TeamSettingsSchema,
  type BUSY_POLICIES,
  type PERMISSION_MODES,
  type REPLY_MODES,
  type SESSION_MODES,
  type STEER_COMMANDS,
} from '@tinyagi/client/contract';

export {
  QUIET_HOURS_PATTERN,
  STEER_COMMANDS,
  BUSY_POLICIES,
  SESSION_MODES,
  REPLY_MODES,
  DURABILITIES,
  MOCK_FAILURES,
  PERMISSION_MODES,
  ENV_NAME_PATTERN,
  MODEL_NAME_PATTERN,
  ModelNameSchema,
  ProviderNameSchema,
  MockReplySchema,
  MockScriptSchema,
  LimitsSettingsSchema as LimitsSchema,
  BudgetsSettingsSchema as BudgetsSchema,
  AgentSettingsSchema as AgentSchema,
  TeamSettingsSchema as TeamSchema,
  CustomProviderSettingsSchema as CustomProviderSchema,
  SettingsFileSchema as SettingsShapeSchema,
} from '@tinyagi/client/contract';

/**
 * The full settings schema. The cross-key validation runs even when the shape has errors (`when`), so
 * it receives possibly malformed input and tests every type itself.
 */
export const SettingsSchema = SettingsFileSchema.superRefine(validateCrossKeys, { when: () => true });

export type Settings = z.infer<typeof SettingsSchema>;
export type AgentSettings = z.infer<typeof AgentSettingsSchema>;
export type TeamSettings = z.infer<typeof TeamSettingsSchema>;
export type CustomProviderSettings = z.infer<typeof CustomProviderSettingsSchema>;
export type LimitsSettings = z.infer<typeof LimitsSettingsSchema>;
export type BudgetSettings = z.infer<typeof BudgetsSettingsSchema>;
export type MockScript = z.infer<typeof MockScriptSchema>;
export type MockReply = z.infer<typeof MockReplySchema>;
export type ProviderName = z.infer<typeof ProviderNameSchema>;
export type ServerSettings = NonNullable<Settings['server']>;
export type QueueSettings = NonNullable<Settings['queue']>;
export type SteerCommand = (typeof STEER_COMMANDS)[number];
export type BusyPolicy = (typeof BUSY_POLICIES)[number];
export type SessionMode = (typeof SESSION_MODES)[number];
export type ReplyMode = (typeof REPLY_MODES)[number];
export type PermissionMode = (typeof PERMISSION_MODES)[number];
