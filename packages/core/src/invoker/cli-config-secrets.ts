/**
 * What the user's own CLI configs hold that is a key (for sandbox/withheld.ts): the variables
 * Codex's config.toml reads one from (`env_key`, `env_http_headers`) and OpenCode's opencode.json
 * (`{env:VAR}`), whatever they are called, and the keys written in opencode.json itself.
 */
import { daemonSecrets } from '../config/secrets.ts';
import type { ConfigSecrets } from '../sandbox/withheld.ts';
import type { RuntimeEnv } from './runtime.ts';
import { readCodexUserConfig } from './runtimes/codex-config.ts';
import { opencodeConfigVariables, readOpencodeUserConfig } from './runtimes/opencode-config.ts';

export function cliConfigSecrets(env: RuntimeEnv): ConfigSecrets {
  return {
    variables: [...(readCodexUserConfig(env)?.variables ?? []), ...opencodeConfigVariables(env)],
    values: daemonSecrets(readOpencodeUserConfig(env) ?? {}, {}),
  };
}
