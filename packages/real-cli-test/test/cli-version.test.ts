/**
 * The real CLIs this suite installs answer `--version` as core's version check expects
 * (docs/agent-clis.md#cli-versions): each parses, is the suite's pin, and is in the verified
 * range. Core's own cli-version test covers parsing, ranges and the cache with scripts and fakes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliVersion, cliVersionSpec } from '@tinyagi/core/internal';
import { cleanupTemp, tempDir } from '@tinyagi/test-kit';
import { afterAll, expect, it } from 'vitest';

const REAL_BIN = fileURLToPath(new URL('../clis/node_modules/.bin', import.meta.url));

afterAll(() => cleanupTemp());

it('the real CLIs print versions in the verified ranges, equal to the pins', async () => {
  const home = join(tempDir('tinyagi-cliver-'), 'home');
  mkdirSync(home);
  for (const [runtime, command] of [
    ['claude-code', 'claude'],
    ['codex', 'codex'],
    ['opencode', 'opencode'],
  ] as const) {
    const info = await cliVersion(runtime, command, { path: REAL_BIN, env: { PATH: `${REAL_BIN}:${process.env.PATH ?? ''}`, HOME: home }, timeoutMs: 60_000 });
    expect(info, info.message).toMatchObject({ status: 'ok', version: cliVersionSpec(runtime)!.pinned });
  }
}, 120_000);
