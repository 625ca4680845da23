/**
 * The fake agent CLIs (bin/claude, bin/codex, bin/opencode): they parse argv like the real ones
 * (unknown options are errors) and speak their JSON-lines protocols; prompts steer them with
 * `FAKE:` directives (bin/fake-common.cjs lists them). Put FAKE_BIN_DIR first on PATH, or pass
 * `fakeCli('claude')` as an agent's binary.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_BIN_DIR = fileURLToPath(new URL('../bin', import.meta.url));

export function fakeCli(name: 'claude' | 'codex' | 'opencode'): string {
  return join(FAKE_BIN_DIR, name);
}
