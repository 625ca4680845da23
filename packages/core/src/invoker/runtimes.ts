/**
 * The built-in runtimes, one line each (docs/kinds.md, "Runtimes"). Importing this module is
 * what puts them in `runtimeKinds`; everything that reads runtime names (settings validation,
 * resolve-target, the invoker, doctor, the CLI's help, `GET /api/kinds`) imports the registry
 * from here. A plugin adds its own with `registerRuntime(kind, adapter)`.
 */
import { runtimeKinds } from '../kinds/registry.ts';
import { acpKind, acpRuntime } from './adapters/acp.ts';
import { anthropicApiKind, anthropicApiRuntime } from './adapters/anthropic-http.ts';
import { claudeCodeKind, claudeCodeRuntime } from './adapters/claude.ts';
import { codexKind, codexRuntime } from './adapters/codex.ts';
import { mockKind, mockRuntime } from './adapters/mock.ts';
import { openaiApiKind, openaiApiRuntime } from './adapters/openai-http.ts';
import { opencodeKind, opencodeRuntime } from './adapters/opencode.ts';
import { registerRuntime } from './runtime.ts';

registerRuntime(claudeCodeKind, claudeCodeRuntime);
registerRuntime(codexKind, codexRuntime);
registerRuntime(opencodeKind, opencodeRuntime);
registerRuntime(anthropicApiKind, anthropicApiRuntime);
registerRuntime(openaiApiKind, openaiApiRuntime);
registerRuntime(mockKind, mockRuntime);
registerRuntime(acpKind, acpRuntime);

export { runtimeKinds };
export { findRuntime, registerRuntime } from './runtime.ts';
