/**
 * The real CLIs' protocol traffic, recorded for the fake-parity check (@tinyagi/test-kit's
 * cli-shapes.ts, docs/testing.md). Each CLI on the daemon's PATH is a wrapper that copies the
 * CLI's stdout (and our stdin, which names the JSON-RPC responses) into the rig's record
 * directory and then becomes the CLI (`exec`: the same pid, arguments, signals and exit status;
 * the copies are made by two `tee` processes in the CLI's process group, which end with it).
 *
 * When the rig is cleaned up, the shapes of what each protocol wrote are compared with the
 * fixtures in packages/test-kit/fixtures/cli-shapes: a message type or key a real CLI wrote that
 * its fixture lacks fails the file, saying to record again. TINYAGI_RECORD_SHAPES=1 merges them
 * into the fixtures instead (a fixture of another CLI version is replaced, not merged).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mergeShapes, modeOf, waitFor, readShapes, shapesBeyond, shapesFile, shapesOf, writeShapes, type CliMode, type ShapeCli, type Shapes } from '@tinyagi/test-kit';

const CLIS: ShapeCli[] = ['claude', 'codex', 'opencode'];
const RECORD = process.env.TINYAGI_RECORD_SHAPES === '1';

/** A directory of recording wrappers around the CLIs of `binDir`, writing into `recordDir`. */
export function recordingBinDir(binDir: string, recordDir: string): string {
  const dir = join(recordDir, 'bin');
  mkdirSync(dir, { recursive: true });
  for (const cli of CLIS) {
    const at = `${join(recordDir, cli)}-$$`;
    // The CLI's environment is the daemon's minimal one, so the paths are written into the script.
    const script = [
      '#!/bin/bash',
      `printf '%s\\0' "$@" > "${at}.argv"`,
      `exec ${JSON.stringify(join(binDir, cli))} "$@" < <(exec tee "${at}.in" 2>/dev/null) > >(exec tee "${at}.out" 2>/dev/null)`,
      '',
    ].join('\n');
    writeFileSync(join(dir, cli), script);
    chmodSync(join(dir, cli), 0o755);
  }
  return dir;
}

/** The version of the package whose binary `binDir/<cli>` is (its nearest package.json). */
function versionOf(binDir: string, cli: ShapeCli): string {
  let dir = dirname(realpathSync(join(binDir, cli)));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`no package.json above the ${cli} binary`);
    dir = dirname(dir);
  }
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []);

/** Whether a copying `tee` of `recordDir` still runs (its CLI, or a child holding its stdout, has not exited). */
function copying(recordDir: string): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(recordDir)) return true;
    } catch {
      // gone while we looked
    }
  }
  return false;
}

/** The shapes of everything recorded in `recordDir`, by protocol. */
function recordedShapes(recordDir: string): Map<CliMode, { cli: ShapeCli; shapes: Shapes }> {
  const byMode = new Map<CliMode, { cli: ShapeCli; shapes: Shapes }>();
  for (const name of readdirSync(recordDir).filter((n) => n.endsWith('.argv'))) {
    const cli = name.slice(0, name.indexOf('-')) as ShapeCli;
    const base = join(recordDir, name.slice(0, -'.argv'.length));
    const argv = readFileSync(`${base}.argv`, 'utf8').split('\0').slice(0, -1);
    const mode = modeOf(cli, argv);
    if (mode === undefined) continue;
    const shapes = shapesOf(mode, lines(`${base}.out`), lines(`${base}.in`));
    const known = byMode.get(mode);
    byMode.set(mode, { cli, shapes: known ? mergeShapes(known.shapes, shapes) : shapes });
  }
  return byMode;
}

/**
 * Compares what the CLIs wrote with the fixtures (or records it): call after the daemon stopped.
 * The copies end with their CLIs; one still open after 10 s (a CLI's leftover child holding its
 * stdout) is read as far as it was written.
 */
export async function checkShapes(binDir: string, recordDir: string): Promise<void> {
  await waitFor(() => !copying(recordDir), 10_000, 'the recording copies to end', 100).catch(() => undefined);
  const problems: string[] = [];
  for (const [mode, { cli, shapes }] of recordedShapes(recordDir)) {
    const version = versionOf(binDir, cli);
    const fixture = readShapes(mode);
    if (RECORD) {
      const base = fixture?.version === version ? fixture.messages : {};
      writeShapes({ cli, version, mode, messages: mergeShapes(base, shapes) });
      continue;
    }
    if (!fixture) {
      problems.push(`${mode}: no fixture ${shapesFile(mode)}`);
      continue;
    }
    if (fixture.version !== version) {
      problems.push(`${mode}: the fixture was recorded from ${cli} ${fixture.version}, this is ${version}`);
      continue;
    }
    for (const line of shapesBeyond(shapes, fixture.messages)) problems.push(`${mode}: ${cli} wrote ${line}, which ${shapesFile(mode)} lacks`);
  }
  if (problems.length > 0) {
    throw new Error(
      `The real CLIs' protocol messages differ from the recorded shapes:\n  ${problems.join('\n  ')}\n` +
        'Record them again (the whole suite, TINYAGI_RECORD_SHAPES=1 pnpm --filter @tinyagi/real-cli-test test), ' +
        'then make the fakes in packages/test-kit/bin follow (packages/test-kit/test/fake-parity.test.ts).',
    );
  }
}
