/**
 * The built-in runtimes' descriptors, one line each (docs/kinds.md, "Runtimes"): importing this
 * module registers them in `runtimeKinds`, without loading any runtime. Settings validation, the
 * new-agent defaults and anything else that reads what a runtime is import the registry from here;
 * the runtimes' implementations are registered beside them where the invoker is assembled
 * (invoker/runtimes/index.ts), which checks that every descriptor here has one.
 */
import type { RuntimeKind } from '@tinyagi/client/contract';
import { runtimeKinds } from '../registry.ts';
import { acpKind } from './acp.ts';
import { anthropicApiKind } from './anthropic-api.ts';
import { claudeCodeKind } from './claude-code.ts';
import { codexKind } from './codex.ts';
import { mockKind } from './mock.ts';
import { openaiApiKind } from './openai-api.ts';
import { opencodeKind } from './opencode.ts';

export const BUILTIN_RUNTIME_KINDS: readonly RuntimeKind[] = [claudeCodeKind, codexKind, opencodeKind, anthropicApiKind, openaiApiKind, mockKind, acpKind];

for (const kind of BUILTIN_RUNTIME_KINDS) runtimeKinds.register(kind);

export { runtimeKinds };
