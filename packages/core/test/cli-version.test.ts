/**
 * Version awareness (docs/agent-clis.md#cli-versions): parsing each CLI's `--version`, the
 * verified ranges, and `cliVersion` against executables that print versions (scripts written
 * here and the test kit's fake CLIs), with its cache per path and modification time. The real CLIs'
 * answers are checked where they are installed: packages/real-cli-test/test/cli-version.test.ts.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE_BIN_DIR } from '@tinyagi/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliSupports, cliVersion, cliVersionSpec, compareVersions, judgeCliVersion, parseCliVersion } from '../src/invoker/cli-version.ts';
import { runtimeKinds } from '../src/kinds/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-cliver-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An executable `name` in its own folder that prints `output` (and exits with `code`). */
function script(name: string, output: string, code = 0): string {
  const folder = mkdtempSync(join(dir, 'bin-'));
  const file = join(folder, name);
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' '${output}'\nexit ${code}\n`);
  chmodSync(file, 0o755);
  return folder;
}

describe('CLI versions: parsing and ranges', () => {
  it("reads each CLI's own format", () => {
    expect(parseCliVersion('2.1.330 (Claude Code)')).toBe('2.1.330');
    expect(parseCliVersion('codex-cli 0.169.0')).toBe('0.169.0');
    expect(parseCliVersion('1.18.33\n')).toBe('1.18.33');
    expect(parseCliVersion('codex-cli 0.170.0-alpha.3')).toBe('0.170.0-alpha.3');
    expect(parseCliVersion('version unknown')).toBeUndefined();
    expect(parseCliVersion('1.2')).toBeUndefined();
  });

  it('orders versions as semver does', () => {
    expect(compareVersions('2.1.330', '2.1.99')).toBe(1);
    expect(compareVersions('0.169.0', '0.169.0')).toBe(0);
    expect(compareVersions('0.170.0-alpha.1', '0.170.0')).toBe(-1);
    expect(compareVersions('1.18.33', '1.19.0')).toBe(-1);
  });

  it('says too old, too new, unparseable or ok, with what to do', () => {
    expect(judgeCliVersion('claude-code', 'claude', '/x/claude', '2.1.330 (Claude Code)')).toMatchObject({ status: 'ok', version: '2.1.330', verified: '>=2.1.330 <2.2.0' });
    expect(judgeCliVersion('claude-code', 'claude', '/x/claude', '2.1.345 (Claude Code)').status).toBe('ok');
    const old = judgeCliVersion('claude-code', 'claude', '/x/claude', '2.0.14 (Claude Code)');
    expect(old).toMatchObject({ status: 'too_old', version: '2.0.14' });
    expect(old.hint).toContain('@anthropic-ai/claude-code@2.1.330');
    expect(judgeCliVersion('codex', 'codex', '/x/codex', 'codex-cli 0.170.0')).toMatchObject({ status: 'too_new' });
    expect(judgeCliVersion('opencode', 'opencode', '/x/opencode', 'opencode (dev build)')).toMatchObject({ status: 'unparseable', version: null });
  });

  it('chooses features by version', () => {
    expect(cliSupports('codex', '0.169.0', 'app-server')).toBe(true);
    expect(cliSupports('codex', '0.150.0', 'app-server')).toBe(false);
    expect(cliSupports('codex', null, 'app-server')).toBe(false);
    expect(cliSupports('claude-code', '2.1.330', 'no-such-feature')).toBe(false);
    // The pins, carried by the runtime kinds that have them, are those of the real-CLI suite (its own install step's package.json).
    const suite = JSON.parse(readFileSync(fileURLToPath(new URL('../../real-cli-test/clis/package.json', import.meta.url)), 'utf8')) as { dependencies: Record<string, string> };
    const pins = runtimeKinds.list().flatMap((kind) => (kind.verifiedVersions ? [[kind.name, kind.verifiedVersions.pinned] as const] : []));
    expect(Object.fromEntries(pins)).toEqual({
      'claude-code': suite.dependencies['@anthropic-ai/claude-code'],
      codex: suite.dependencies['@openai/codex'],
      opencode: suite.dependencies['opencode-ai'],
    });
  });
});

describe('cliVersion: asking the executable', () => {
  it('runs `<cli> --version` found on PATH and judges the answer', async () => {
    expect(await cliVersion('claude-code', 'claude', { path: script('claude', '2.0.1 (Claude Code)') })).toMatchObject({ status: 'too_old', version: '2.0.1' });
    expect(await cliVersion('codex', 'codex', { path: script('codex', 'codex-cli 0.200.0') })).toMatchObject({ status: 'too_new', version: '0.200.0' });
    expect(await cliVersion('opencode', 'opencode', { path: script('opencode', 'dev') })).toMatchObject({ status: 'unparseable' });
    const failing = await cliVersion('opencode', 'opencode', { path: script('opencode', 'Segmentation fault', 139) });
    expect(failing).toMatchObject({ status: 'failed', version: null });
    expect(failing.hint).toContain('opencode --version');
    expect(await cliVersion('codex', 'codex', { path: join(dir, 'empty') })).toMatchObject({ status: 'not_found', path: null });
    // A path as configured (an agent's `command`), not looked up.
    const folder = script('my-claude', '2.1.330 (Claude Code)');
    expect(await cliVersion('claude-code', join(folder, 'my-claude'), { path: '' })).toMatchObject({ status: 'ok', path: join(folder, 'my-claude') });
  });

  it('caches per path and modification time: an upgraded binary is asked again', async () => {
    const folder = script('codex', 'codex-cli 0.168.0');
    expect((await cliVersion('codex', 'codex', { path: folder })).version).toBe('0.168.0');
    writeFileSync(join(folder, 'codex'), `#!/bin/sh\necho 'codex-cli 0.169.0'\n`);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(folder, 'codex'), later, later);
    expect((await cliVersion('codex', 'codex', { path: folder })).version).toBe('0.169.0');
  });

  it("the test kit's fake CLIs answer as the pinned versions do", async () => {
    for (const [runtime, command] of [
      ['claude-code', 'claude'],
      ['codex', 'codex'],
      ['opencode', 'opencode'],
    ] as const) {
      expect(await cliVersion(runtime, command, { path: FAKE_BIN_DIR, env: { PATH: process.env.PATH ?? '' } })).toMatchObject({ status: 'ok', version: cliVersionSpec(runtime)!.pinned });
    }
  });
});
