/**
 * The real-CLI suite's own install step (issue 47): installs the pinned agent CLIs of ../clis
 * (Claude Code, Codex, OpenCode and the ACP agents claude-agent-acp, codex-acp and Gemini CLI;
 * about 1.9 GB with their native binaries) with npm and that folder's lockfile, so they are fetched by the suite
 * that drives them, not by every user's `pnpm install`.
 * Runs first in this package's `test` script; it is quick when the installed tree already matches
 * the lockfile (a stamp in node_modules holds the lockfile's hash, and every binary must be there).
 *
 * npm, not `npm ci`: the registry mirror here leaves OpenCode's other-platform optional packages
 * out of the lockfile, which `npm ci` refuses; `npm install` against an in-sync lockfile installs
 * exactly its versions and does not rewrite it (checked: the lockfile's hash is compared after).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../clis/', import.meta.url));
const lockfile = `${dir}package-lock.json`;
const stamp = `${dir}node_modules/.tinyagi-installed`;
const BINARIES = ['claude', 'codex', 'opencode', 'claude-agent-acp', 'codex-acp', 'gemini'];

const hash = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const want = hash(lockfile);
const installed = () => BINARIES.every((bin) => existsSync(`${dir}node_modules/.bin/${bin}`));

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && installed()) process.exit(0);

const started = Date.now();
console.log(`installing the real CLIs (${BINARIES.join(', ')}) into ${dir}node_modules from the lockfile`);
const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
if (npm.error) throw npm.error;
if (npm.status !== 0) process.exit(npm.status ?? 1);
if (hash(lockfile) !== want) {
  console.error(`npm changed ${lockfile}: the lockfile is out of sync with ../clis/package.json; commit the updated lockfile`);
  process.exit(1);
}
if (!installed()) {
  console.error(`npm finished but a CLI binary is missing from ${dir}node_modules/.bin (want ${BINARIES.join(', ')})`);
  process.exit(1);
}
writeFileSync(stamp, want);
console.log(`installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
