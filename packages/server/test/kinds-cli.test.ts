/**
 * GET /api/kinds says, for each runtime that runs a CLI, whether that CLI is installed on the
 * daemon's machine: its command found on the daemon's PATH (here a folder of this test with an
 * executable `claude` and nothing else).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type ServerHarness } from './harness.ts';

describe('GET /api/kinds: the runtimes’ CLIs on the daemon’s machine', () => {
  let h: ServerHarness;
  let bin: string;

  beforeAll(async () => {
    bin = mkdtempSync(join(tmpdir(), 'tinyagi-kinds-bin-'));
    writeFileSync(join(bin, 'claude'), '#!/bin/sh\necho 1.0.0\n');
    chmodSync(join(bin, 'claude'), 0o755);
    // A file that is not executable is not an installed CLI.
    writeFileSync(join(bin, 'codex'), 'not a program');
    h = await startHarness({ env: { PATH: bin } });
  });

  afterAll(async () => {
    await h?.close();
    rmSync(bin, { recursive: true, force: true });
  });

  it('marks an installed CLI with its path, a missing one as not installed, and gives none for a runtime that runs no CLI', async () => {
    const runtimes = (await h.client.listKinds()).runtimes;
    const byName = new Map(runtimes.map((r) => [r.name, r]));
    expect(byName.get('claude-code')?.cli).toEqual({ command: 'claude', installed: true, path: join(bin, 'claude') });
    expect(byName.get('codex')?.cli).toEqual({ command: 'codex', installed: false });
    expect(byName.get('opencode')?.cli).toEqual({ command: 'opencode', installed: false });
    expect(byName.get('mock')?.cli).toBeUndefined();
    // Every runtime with a command has the field; none without.
    for (const r of runtimes) expect(r.cli === undefined).toBe(r.command === null);
  });
});
