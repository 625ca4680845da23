/**
 * The built-in runtimes, one line each (docs/kinds.md, "Runtimes"). Importing this module is
 * what puts them in `runtimeKinds`; everything that reads runtime names (settings validation,
 * resolve-target, the invoker, doctor, the CLI's help, `GET /api/kinds`) imports the registry
 * from here. A plugin adds its own with `registerRuntime(kind, impl)`.
 */
import { runtimeKinds } from '../../kinds/registry.ts';
import { acpKind, acpRuntime } from './acp.ts';
import { anthropicApiKind, anthropicApiRuntime } from './anthropic-http.ts';
import { claudeCodeKind, claudeCodeRuntime } from './claude.ts';
import { codexKind, codexRuntime } from './codex.ts';
import { mockKind, mockRuntime } from './mock.ts';
import { openaiApiKind, openaiApiRuntime } from './openai-http.ts';
import { opencodeKind, opencodeRuntime } from './opencode.ts';
import { registerRuntime } from '../runtime.ts';

registerRuntime(claudeCodeKind, claudeCodeRuntime);
registerRuntime(codexKind, codexRuntime);
registerRuntime(opencodeKind, opencodeRuntime);
registerRuntime(anthropicApiKind, anthropicApiRuntime);
registerRuntime(openaiApiKind, openaiApiRuntime);
registerRuntime(mockKind, mockRuntime);
registerRuntime(acpKind, acpRuntime);

export { runtimeKinds };
export { findRuntime, registerRuntime } from '../runtime.ts';
