/**
 * `pnpm lint` is a real gate: the repository's own Biome configuration (biome.jsonc), applied to a
 * throwaway tree laid out like the repo, reports an import cycle and every package-boundary breach
 * of docs/architecture.md, and lets the allowed imports through. The repository itself passes.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

interface Finding {
  rule: string;
  file: string;
  line: number;
}

let tree: string | undefined;
afterEach(() => {
  if (tree) rmSync(tree, { recursive: true, force: true });
  tree = undefined;
});

function biome(cwd: string, args: string[]): { status: number | null; output: string; findings: Finding[] } {
  const result = spawnSync(BIOME, ['lint', '--reporter=github', '--max-diagnostics=none', ...args], { cwd, encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  // The github reporter prints one `::error title=<rule>,file=<path>,line=<n>,…` line per finding.
  const findings = [...output.matchAll(/^::(?:error|warning|notice) title=([^,]+),file=([^,]+),line=(\d+)/gm)].map(([, rule, file, line]) => ({
    rule: rule!,
    file: file!.startsWith(cwd) ? file!.slice(cwd.length).replace(/^\//, '') : file!,
    line: Number(line),
  }));
  return { status: result.status, output, findings };
}

/** Lints `files` (paths relative to a temp repo root) with a copy of the repository's configuration. */
function lintTree(files: Record<string, string>): ReturnType<typeof biome> {
  tree = mkdtempSync(join(tmpdir(), 'tinyagi-lint-'));
  copyFileSync(join(ROOT, 'biome.jsonc'), join(tree, 'biome.jsonc'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
  // No git repository here, so no ignore file to read.
  return biome(tree, ['--vcs-enabled=false', '.']);
}

const sorted = (findings: Finding[]): Finding[] => [...findings].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));

describe('lint rules (biome.jsonc)', () => {
  it('fails on a two-file import cycle and ignores a type-only one', () => {
    const result = lintTree({
      'packages/cli/src/probe/a.ts': "import { b } from './b.ts';\nexport const a = (): unknown => b;\n",
      'packages/cli/src/probe/b.ts': "import { a } from './a.ts';\nexport const b = (): unknown => a;\n",
      'packages/cli/src/probe/type-a.ts': "import type { B } from './type-b.ts';\nexport interface A {\n  b?: B;\n}\n",
      'packages/cli/src/probe/type-b.ts': "import type { A } from './type-a.ts';\nexport interface B {\n  a?: A;\n}\n",
    });
    expect(result.status, result.output).not.toBe(0);
    expect(sorted(result.findings)).toEqual([
      { rule: 'lint/suspicious/noImportCycles', file: 'packages/cli/src/probe/a.ts', line: 1 },
      { rule: 'lint/suspicious/noImportCycles', file: 'packages/cli/src/probe/b.ts', line: 1 },
    ]);
  });

  it('fails when core imports a sibling other than the contract, or the client a Node-only module', () => {
    const result = lintTree({
      'packages/core/src/probe.ts': [
        "import type { EventType } from '@tinyagi/client/contract';",
        "import { z } from 'zod';",
        "import { Orchestrator } from '@tinyagi/teams';",
        "import { createClient } from '@tinyagi/client';",
        "import { main } from 'tinyagi';",
        'export const used: unknown[] = [z, Orchestrator, createClient, main, null as unknown as EventType];',
        '',
      ].join('\n'),
      'packages/core/test/probe.test.ts': "import { buildApp } from '@tinyagi/server';\nexport const used = buildApp;\n",
      'packages/client/src/probe.ts': [
        "import { z } from 'zod';",
        "import type { EventType } from '@tinyagi/client/contract';",
        "import { readFileSync } from 'node:fs';",
        "import Fastify from 'fastify';",
        "import Database from 'better-sqlite3';",
        "import { execa } from 'execa';",
        "import { openDatabase } from '@tinyagi/core';",
        'export const used: unknown[] = [z, readFileSync, Fastify, Database, execa, openDatabase, null as unknown as EventType];',
        '',
      ].join('\n'),
      // The server may use all of these: the boundary rules are per package.
      'packages/server/src/probe.ts':
        "import { readFileSync } from 'node:fs';\nimport Fastify from 'fastify';\nimport { Orchestrator } from '@tinyagi/teams';\nexport const used: unknown[] = [readFileSync, Fastify, Orchestrator];\n",
    });
    expect(result.status, result.output).not.toBe(0);
    expect(sorted(result.findings)).toEqual([
      { rule: 'lint/correctness/noNodejsModules', file: 'packages/client/src/probe.ts', line: 3 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/client/src/probe.ts', line: 4 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/client/src/probe.ts', line: 5 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/client/src/probe.ts', line: 6 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/client/src/probe.ts', line: 7 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/core/src/probe.ts', line: 3 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/core/src/probe.ts', line: 4 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/core/src/probe.ts', line: 5 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/core/test/probe.test.ts', line: 1 },
    ]);
    expect(result.output).toContain('@tinyagi/core imports no sibling package except @tinyagi/client/contract');
    expect(result.output).toContain('@tinyagi/client runs in browsers');
  });

  it('fails when the git engine imports core beside src/core.ts, or a sibling above it', () => {
    const result = lintTree({
      // Allowed: core (and its internal subpath) in src/core.ts, the contract anywhere.
      'packages/git-tasks/src/core.ts': "export { TinyError } from '@tinyagi/core';\nexport { ownEntry } from '@tinyagi/core/internal';\n",
      'packages/git-tasks/src/probe.ts': [
        "import type { CheckSpec } from '@tinyagi/client/contract';",
        "import { TinyError } from './core.ts';",
        "import { isTinyError } from '@tinyagi/core';",
        "import { ownEntry } from '@tinyagi/core/internal';",
        "import { Orchestrator } from '@tinyagi/teams';",
        "import { waitFor } from '@tinyagi/test-kit';",
        'export const used: unknown[] = [TinyError, isTinyError, ownEntry, Orchestrator, waitFor, null as unknown as CheckSpec];',
        '',
      ].join('\n'),
    });
    expect(result.status, result.output).not.toBe(0);
    expect(sorted(result.findings)).toEqual([3, 4, 5, 6].map((line) => ({ rule: 'lint/style/noRestrictedImports', file: 'packages/git-tasks/src/probe.ts', line })));
    expect(result.output).toContain('@tinyagi/git-tasks takes what it needs of @tinyagi/core through src/core.ts');
  });

  it('fails when a package imports @tinyagi/core/internal beside its src/core-internal.ts', () => {
    const result = lintTree({
      // Allowed: the internal subpath in the declared surface, the surface and the public root anywhere.
      'packages/server/src/core-internal.ts': "export { ownEntry } from '@tinyagi/core/internal';\n",
      'packages/server/src/probe.ts': [
        "import { ownEntry } from './core-internal.ts';",
        "import { TinyError } from '@tinyagi/core';",
        "import { maskSettings } from '@tinyagi/core/internal';",
        "import { waitFor } from '@tinyagi/test-kit';",
        'export const used: unknown[] = [ownEntry, TinyError, maskSettings, waitFor];',
        '',
      ].join('\n'),
      'packages/teams/src/orchestrator/probe.ts': "import { io } from '@tinyagi/core/internal';\nexport const used: unknown = io;\n",
      'packages/cli/src/probe.ts': "export const load = (): Promise<unknown> => import('@tinyagi/core/internal');\n",
    });
    expect(result.status, result.output).not.toBe(0);
    expect(sorted(result.findings)).toEqual([
      { rule: 'lint/style/noRestrictedImports', file: 'packages/cli/src/probe.ts', line: 1 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/server/src/probe.ts', line: 3 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/server/src/probe.ts', line: 4 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/teams/src/orchestrator/probe.ts', line: 1 },
    ]);
    expect(result.output).toContain('through its src/core-internal.ts');
  });

  it('fails when a test imports another package’s test folder, or shipped code the private test kit', () => {
    const result = lintTree({
      // Allowed: the test kit, the package's own test folder and sources.
      'packages/server/test/ok.test.ts':
        "import { waitFor } from '@tinyagi/test-kit';\nimport { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';\nimport { startHarness } from './harness.ts';\nimport { buildServer } from '../src/index.ts';\nexport const used: unknown[] = [waitFor, FakeTelegram, startHarness, buildServer];\n",
      'packages/core/test/ok.test.ts': "import { fakeCli } from '@tinyagi/test-kit';\nexport const used = fakeCli;\n",
      'packages/teams/test/probe.test.ts': "import { startScriptedServer } from '../../core/test/fixtures/http/scripted-server.ts';\nexport const used = startScriptedServer;\n",
      'packages/cli/test/sub/probe.test.ts': "import { startHarness } from '../../../server/test/harness.ts';\nexport const used = startHarness;\n",
      'bench/src/probe.ts': "import { FakeTelegram } from '../../packages/channels/test/fakes/fake-telegram.ts';\nexport const used = FakeTelegram;\n",
      'packages/server/src/probe.ts': "import { waitFor } from '@tinyagi/test-kit';\nexport const used = waitFor;\n",
      'packages/core/src/probe.ts': "import { waitFor } from '@tinyagi/test-kit';\nexport const used = waitFor;\n",
    });
    expect(result.status, result.output).not.toBe(0);
    expect(sorted(result.findings)).toEqual([
      { rule: 'lint/style/noRestrictedImports', file: 'bench/src/probe.ts', line: 1 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/cli/test/sub/probe.test.ts', line: 1 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/core/src/probe.ts', line: 1 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/server/src/probe.ts', line: 1 },
      { rule: 'lint/style/noRestrictedImports', file: 'packages/teams/test/probe.test.ts', line: 1 },
    ]);
    expect(result.output).toContain("A test imports no other package's test folder");
    expect(result.output).toContain('@tinyagi/test-kit is for tests only');
  });

  it('passes on the repository itself', () => {
    // Lint rules only: formatting is checked by `pnpm lint`, which `pnpm test` runs before the tests.
    const result = biome(ROOT, ['--error-on-warnings', '.']);
    expect(result.findings).toEqual([]);
    expect(result.status, result.output).toBe(0);
  });
});
