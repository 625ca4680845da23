/**
 * The agent CLIs' versions in `tinyagi doctor` and in the daemon's log at start
 * (docs/agent-clis.md#cli-versions), against executables that print versions as the real CLIs do,
 * and the test kit's fake CLIs (which answer as the pinned versions).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings } from '@tinyagi/core';
import { FAKE_BIN_DIR, tempDir, tempHome } from '@tinyagi/test-kit';
import { describe, expect, it } from 'vitest';
import { cliContext } from '../src/context.ts';
import { logCliVersions } from '../src/daemon/cli-versions.ts';
import type { Logger } from '../src/daemon/logger.ts';
import { checkCliVersions } from '../src/doctor/cli-versions.ts';
import { runDoctor } from '../src/doctor/checks.ts';

/** A folder of executables, each printing its line for `--version`. */
function bin(outputs: Record<string, string>): string {
  const dir = join(tempDir('tinyagi-cliver-'), 'bin');
  mkdirSync(dir);
  for (const [name, line] of Object.entries(outputs)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n[ "$1" = "--version" ] && { printf '%s\\n' '${line}'; exit 0; }\nexit 2\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

const settings = { agents: { writer: { provider: 'claude-code' }, coder: { provider: 'codex' }, bot: { provider: 'mock' } } } as unknown as Settings;

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`), child: () => logger };
  return { logger, lines };
}

describe('agent CLI versions', () => {
  it('doctor: too old and too new are warnings with what to do; a verified one is ok; an unused installed CLI is checked too', async () => {
    const path = bin({ claude: '2.0.1 (Claude Code)', codex: 'codex-cli 0.200.0', opencode: '1.18.40' });
    const findings = await checkCliVersions(settings, path, 'PATH');
    const by = (c: string) => findings.find((f) => f.check === `version:${c}`);
    expect(by('claude')).toMatchObject({ status: 'warn', details: { status: 'too_old', version: '2.0.1', verified: '>=2.1.330 <2.2.0' } });
    expect(by('claude')!.message).toContain('agents writer');
    expect(by('claude')!.hint).toContain('npm install -g @anthropic-ai/claude-code@2.1.330');
    expect(by('codex')).toMatchObject({ status: 'warn', details: { status: 'too_new' } });
    expect(by('opencode')).toMatchObject({ status: 'ok', details: { version: '1.18.40' } });
  });

  it('doctor: unparseable output is a warning; a CLI no agent needs that is not installed is not repeated here', async () => {
    const findings = await checkCliVersions(settings, bin({ claude: 'Claude Code (dev build)' }), 'PATH');
    expect(findings.find((f) => f.check === 'version:claude')).toMatchObject({ status: 'warn', details: { status: 'unparseable' } });
    // codex is missing: the cli:/agent: checks say so, not this one.
    expect(findings.find((f) => f.check === 'version:codex')).toBeUndefined();
  });

  it("the whole doctor run includes the versions of the CLIs on the PATH (the test kit's fakes answer as the pins)", async () => {
    const home = tempHome({ path: [FAKE_BIN_DIR] });
    writeFileSync(join(home.home, 'settings.json'), JSON.stringify({ agents: { writer: { provider: 'claude-code' } } }));
    const findings = await runDoctor(cliContext({}, home.env), { fix: false });
    expect(findings.find((f) => f.check === 'version:claude')).toMatchObject({ status: 'ok', details: { version: '2.1.330' } });
    expect(findings.find((f) => f.check === 'version:codex')).toMatchObject({ status: 'ok', details: { version: '0.169.0' } });
  }, 60_000);

  it('the daemon logs one line per CLI its agents use at start, a warning when out of range', async () => {
    const { logger, lines } = capture();
    await logCliVersions(settings, { PATH: bin({ claude: '2.1.330 (Claude Code)', codex: 'codex-cli 0.150.0' }) }, logger);
    expect(lines.sort()).toEqual([
      expect.stringMatching(/^info Claude Code 2\.1\.330 \(verified: >=2\.1\.330 <2\.2\.0\); used by agents writer$/),
      expect.stringMatching(
        /^warn Codex 0\.150\.0 is older than the versions TinyAGI was verified with \(>=0\.169\.0 <0\.170\.0\)\. Used by agents coder\. Upgrade it: npm install -g @openai\/codex@0\.169\.0/,
      ),
    ]);
  });

  it('a worker node logs only the CLIs of the agents placed on it', async () => {
    const { logger, lines } = capture();
    await logCliVersions(settings, { PATH: bin({ claude: '2.1.330 (Claude Code)', codex: 'codex-cli 0.150.0' }) }, logger, new Set(['writer', 'bot']));
    expect(lines).toEqual([expect.stringMatching(/^info Claude Code 2\.1\.330 .*used by agents writer$/)]);
  });
});
