/**
 * The built-in runtimes' implementations, one line each (docs/kinds.md, "Runtimes"), registered
 * beside their descriptors: those are registered without any implementation by
 * kinds/runtimes/index.ts (what settings validation reads), and a runtime is in both lists or
 * this module throws when it is loaded. Everything that runs a runtime (resolve-target, the
 * invoker, the warm pool) imports the registry from here. A plugin adds its own with
 * `registerRuntime(kind, impl)`.
 */
import type { RuntimeKind } from '@tinyagi/client/contract';
import { TinyError } from '../../errors.ts';
import { acpKind } from '../../kinds/runtimes/acp.ts';
import { anthropicApiKind } from '../../kinds/runtimes/anthropic-api.ts';
import { claudeCodeKind } from '../../kinds/runtimes/claude-code.ts';
import { codexKind } from '../../kinds/runtimes/codex.ts';
import { BUILTIN_RUNTIME_KINDS, runtimeKinds } from '../../kinds/runtimes/index.ts';
import { mockKind } from '../../kinds/runtimes/mock.ts';
import { openaiApiKind } from '../../kinds/runtimes/openai-api.ts';
import { opencodeKind } from '../../kinds/runtimes/opencode.ts';
import { registerRuntime, type RuntimeImpl } from '../runtime.ts';
import { acpRuntime } from './acp.ts';
import { anthropicApiRuntime } from './anthropic-http.ts';
import { claudeCodeRuntime } from './claude.ts';
import { codexRuntime } from './codex.ts';
import { mockRuntime } from './mock.ts';
import { openaiApiRuntime } from './openai-http.ts';
import { opencodeRuntime } from './opencode.ts';

const BUILTIN_RUNTIMES: ReadonlyArray<readonly [RuntimeKind, RuntimeImpl]> = [
  [claudeCodeKind, claudeCodeRuntime],
  [codexKind, codexRuntime],
  [opencodeKind, opencodeRuntime],
  [anthropicApiKind, anthropicApiRuntime],
  [openaiApiKind, openaiApiRuntime],
  [mockKind, mockRuntime],
  [acpKind, acpRuntime],
];

const implemented = new Set(BUILTIN_RUNTIMES.map(([kind]) => kind));
const unmatched = [...BUILTIN_RUNTIME_KINDS.filter((kind) => !implemented.has(kind)), ...[...implemented].filter((kind) => !BUILTIN_RUNTIME_KINDS.includes(kind))];
if (unmatched.length > 0) {
  throw new TinyError(
    'INTERNAL',
    `Built-in runtimes ${unmatched.map((k) => k.name).join(', ')}: each needs its descriptor in kinds/runtimes/index.ts and its implementation in invoker/runtimes/index.ts.`,
  );
}
// A built-in runtime with a warm driver says so in its descriptor (new agents of it are warm, config reads only descriptors).
const unsaid = BUILTIN_RUNTIMES.filter(([kind, impl]) => impl.warm !== undefined && kind.capabilities.staysWarm !== true);
if (unsaid.length > 0) throw new TinyError('INTERNAL', `Built-in runtimes ${unsaid.map(([k]) => k.name).join(', ')} have a warm driver: their descriptors need capabilities.staysWarm.`);
for (const [kind, impl] of BUILTIN_RUNTIMES) registerRuntime(kind, impl);

export { runtimeKinds };
export { findRuntime, registerRuntime } from '../runtime.ts';
