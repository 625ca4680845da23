/**
 * B28's repository (bench/src/large-worktree-bench.ts): a large checkout made by the benchmark,
 * never committed, kept in a cache folder (`~/.cache/tinyagi-bench/` by default) so that only the
 * first run on a machine pays for it.
 *
 * - Tracked: `files` files and about `bytes` bytes, written in one `git fast-import` stream (no
 *   checkout of each file by git, no `git add` of a large tree): source-like text of many sizes (a
 *   few hundred bytes to a few hundred KB) in nested package folders, and about 3 % of the files as
 *   binary assets (incompressible, 20 KB to 8 MB) holding 55 % of the bytes; a first commit and
 *   three small ones. Every byte and date is fixed, so the commits are the same on every machine.
 *   The person's checkout is then `git reset --hard`.
 * - Ignored: `node_modules`, installed once with npm from the registry (the pinned packages in
 *   `NPM_PACKAGES`, `--ignore-scripts`: no install step downloads anything else) into the cache,
 *   then copied (`cp -a`, real files) into the checkout. A small run (the test) makes a stand-in
 *   folder of generated packages instead, and asks no registry.
 * - The cache folder is named by every input; it is whole once its `.b28-complete` file is
 *   written (last). A reused checkout is put back as made: leftover worktrees pruned, branches of
 *   earlier runs deleted, and it must have no tracked change.
 */
import { execFile, spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { seeded } from './memory-corpus.ts';

/** The dependency folder's packages, pinned: popular ones whose install weighs ~700 MB. */
export const NPM_PACKAGES: Record<string, string> = {
  next: '16.4.6',
  react: '19.3.1',
  'react-dom': '19.3.1',
  typescript: '7.0.2',
  '@swc/core': '1.16.22',
  esbuild: '0.28.2',
  vite: '8.4.0',
  webpack: '5.113.0',
  eslint: '10.15.0',
  'playwright-core': '1.65.1',
  'aws-sdk': '2.1693.0',
  '@aws-sdk/client-s3': '3.1175.0',
  '@babel/core': '8.1.3',
  '@babel/preset-env': '8.0.7',
  '@babel/preset-typescript': '8.0.7',
  '@babel/preset-react': '8.0.1',
  rxjs: '7.8.2',
  lodash: '4.18.1',
  'date-fns': '4.4.0',
  moment: '2.31.0',
};

export interface LargeRepoOptions {
  /** Tracked files (README and .gitignore included). */
  files: number;
  /** Tracked bytes, about (the files' sizes are scaled to it). */
  bytes: number;
  /** 'npm': NPM_PACKAGES from the registry; a number: a stand-in folder of that many generated packages (tests). */
  deps: 'npm' | number;
  /** The cache folder (default `~/.cache/tinyagi-bench`). */
  cacheDir?: string;
}

export interface LargeRepoFacts {
  files: number;
  trackedBytes: number;
  commits: number;
  /** `du -s -B1` of the checkout's tracked files (the folder less `.git` and `node_modules`). */
  checkoutBytes: number;
  /** `du -s -B1` of `.git`. */
  gitBytes: number;
  nodeModulesBytes: number;
  nodeModulesFiles: number;
  nodeModulesPackages: number;
  /** What made it: 'npm' (with the packages' count) or the stand-in. */
  deps: string;
  /** The whole folder, `du -s -B1`: the repository's size the per-task figures are read against. */
  totalBytes: number;
  /** Milliseconds spent making it in this run (0 when the cache had it). */
  madeMs: number;
}

export interface LargeRepo {
  dir: string;
  facts: LargeRepoFacts;
}

const COMMIT_TIME = '1767225600 +0000';
const MARKER = '.b28-complete';

export function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    );
  });
}

/** `du -s -B1` (real blocks) of the paths together (a file seen twice counted once); `-x`: not into other mounts. */
export async function duBytes(paths: string[], extra: string[] = []): Promise<number> {
  if (paths.length === 0) return 0;
  const out = await run('du', ['-s', '-B1', '-c', ...extra, ...paths], '/');
  return Number((out.trim().split('\n').at(-1) ?? '').split(/\s+/)[0]);
}

interface PlannedFile {
  path: string;
  size: number;
  asset: boolean;
}

const TEXT_EXTS = ['ts', 'ts', 'ts', 'tsx', 'js', 'json', 'md', 'css', 'test.ts', 'yaml'];
const ASSET_EXTS = ['png', 'jpg', 'woff2', 'wasm', 'pdf', 'zip'];

/** Every tracked file's path and size: ~3 % assets holding 55 % of the bytes, the rest text of heavy-tailed sizes. */
function planFiles(files: number, bytes: number): PlannedFile[] {
  const next = seeded(28);
  const count = files - 2;
  const assets = Math.max(1, Math.round(count * 0.03));
  const planned: PlannedFile[] = [];
  for (let i = 0; i < count; i++) {
    const asset = i % Math.round(count / assets) === 0;
    const pkg = `packages/pkg${String(Math.floor(i / 1000)).padStart(2, '0')}`;
    const dir = `${Math.floor(i / 100) % 10}/${Math.floor(i / 10) % 10}`;
    const ext = asset ? ASSET_EXTS[i % ASSET_EXTS.length]! : TEXT_EXTS[i % TEXT_EXTS.length]!;
    // Pareto-like: most files small, a few large.
    const weight = asset ? 20 + 8000 * next() ** 3 : 0.3 + 200 * next() ** 6;
    planned.push({ path: `${pkg}/${asset ? 'assets' : 'src'}/m${dir}/file${i}.${ext}`, size: weight, asset });
  }
  for (const asset of [true, false]) {
    const share = asset ? 0.55 : 0.45;
    const group = planned.filter((f) => f.asset === asset);
    const total = group.reduce((s, f) => s + f.size, 0);
    for (const f of group) f.size = Math.max(16, Math.round((f.size / total) * bytes * share));
  }
  return planned;
}

const WORDS = ['task', 'agent', 'queue', 'run', 'reply', 'worker', 'branch', 'commit', 'check', 'round', 'message', 'session', 'token', 'event', 'store', 'route'];
const LINES: string[] = (() => {
  const next = seeded(7);
  const out: string[] = [];
  for (let k = 0; k < 4096; k++) {
    const w = () => WORDS[Math.floor(next() * WORDS.length)]!;
    out.push(`export function ${w()}${k}(${w()}: number, ${w()}: string): string { return \`\${${w()}}-${Math.floor(next() * 1e6)}\`; } // ${w()} ${w()}\n`);
  }
  return out;
})();

function textOf(i: number, size: number, version: number): Buffer {
  const next = seeded(i * 7919 + version);
  const parts: string[] = [`// file ${i}, version ${version}\n`];
  let length = parts[0]!.length;
  while (length < size) {
    const line = LINES[Math.floor(next() * LINES.length)]!;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** Incompressible bytes, the same on every run: AES-CTR's keystream over zeros, keyed by the file. */
function assetOf(i: number, size: number): Buffer {
  const key = createHash('sha256').update(`b28-asset-${i}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Writes the history into `repoDir` with one `git fast-import`: the first commit, then three changing ~100 files each. */
async function importHistory(repoDir: string, planned: PlannedFile[]): Promise<{ trackedBytes: number; commits: number }> {
  const child = spawn('git', ['-c', 'pack.compression=1', '-c', 'core.compression=1', 'fast-import', '--quiet', '--done'], { cwd: repoDir, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A write after git exited (a bad stream) fails with EPIPE: the exit code and git's message say why.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const write = async (chunk: Buffer | string) => {
    if (!child.stdin.write(chunk)) await Promise.race([new Promise((resolve) => child.stdin.once('drain', resolve)), exited]);
    if (child.exitCode !== null) throw new Error(`git fast-import exited ${child.exitCode}: ${stderr.trim()}`);
  };
  let mark = 0;
  const blob = async (content: Buffer) => {
    mark++;
    await write(`blob\nmark :${mark}\ndata ${content.length}\n`);
    await write(content);
    await write('\n');
    return mark;
  };
  // fast-import continues a branch from its last commit in this stream: no `from` needed.
  const commit = async (message: string, entries: Array<{ path: string; mark: number }>) => {
    await write(`commit refs/heads/main\nauthor B28 <b28@example.com> ${COMMIT_TIME}\ncommitter B28 <b28@example.com> ${COMMIT_TIME}\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    for (const e of entries) await write(`M 100644 :${e.mark} ${e.path}\n`);
    await write('\n');
  };
  let trackedBytes = 0;
  const entries: Array<{ path: string; mark: number }> = [];
  const add = async (path: string, content: Buffer) => {
    entries.push({ path, mark: await blob(content) });
    trackedBytes += content.length;
  };
  await add('.gitignore', Buffer.from('node_modules/\n.env\n'));
  await add('README.md', Buffer.from('# B28\n\nA generated repository for the large-worktree benchmark (bench/src/large-repo.ts).\n'));
  for (const [i, f] of planned.entries()) await add(f.path, f.asset ? assetOf(i, f.size) : textOf(i, f.size, 0));
  await commit('initial', entries);
  const later = 3;
  const step = Math.max(1, Math.floor(planned.length / 100));
  for (let c = 1; c <= later; c++) {
    const changed: Array<{ path: string; mark: number }> = [];
    for (let i = c; i < planned.length; i += step) {
      const f = planned[i]!;
      if (f.asset) continue;
      const content = textOf(i, f.size, c);
      changed.push({ path: f.path, mark: await blob(content) });
      trackedBytes += content.length - f.size;
    }
    await commit(`change ${c}`, changed);
  }
  await write('done\n');
  child.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import exited ${code}: ${stderr.trim()}`);
  return { trackedBytes, commits: 1 + later };
}

/** The stand-in dependency folder of a small run: `packages` packages of a few files each. */
function standInDeps(dir: string, packages: number): void {
  for (let p = 0; p < packages; p++) {
    for (const name of ['package.json', 'index.js', 'lib/a.js', 'lib/b.js', 'README.md']) {
      const file = join(dir, `pkg-${p}`, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `// pkg-${p}/${name}\n${'module.exports = 1;\n'.repeat(20 + ((p * 13) % 80))}`);
    }
  }
}

/** NPM_PACKAGES installed once into the cache; returns their node_modules. */
async function npmDeps(cacheDir: string): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify(NPM_PACKAGES)).digest('hex').slice(0, 12);
  const dir = join(cacheDir, `npm-${key}`);
  if (existsSync(join(dir, MARKER))) return join(dir, 'node_modules');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'b28-deps', private: true, version: '0.0.0', dependencies: NPM_PACKAGES }, null, 2)}\n`);
  process.stderr.write(`B28: installing ${Object.keys(NPM_PACKAGES).length} npm packages into ${dir} (once)\n`);
  await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--legacy-peer-deps', '--loglevel=error'], dir);
  writeFileSync(join(dir, MARKER), `${new Date().toISOString()}\n`);
  return join(dir, 'node_modules');
}

async function countFiles(dir: string): Promise<{ files: number; packages: number }> {
  const files = Number((await run('sh', ['-c', 'find . -type f | wc -l'], dir)).trim());
  const top = (await run('sh', ['-c', "ls -1 | grep -v '^@' | wc -l; ls -1d @*/* 2>/dev/null | wc -l"], dir)).trim().split('\n').map(Number);
  return { files, packages: top.reduce((a, b) => a + b, 0) };
}

async function makeRepository(dir: string, options: LargeRepoOptions, cacheDir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  await run('git', ['init', '--quiet', '-b', 'main'], dir);
  process.stderr.write(`B28: writing ${options.files.toLocaleString('en-US')} files (~${(options.bytes / 1e9).toFixed(2)} GB) into ${dir} (once)\n`);
  const history = await importHistory(dir, planFiles(options.files, options.bytes));
  await run('git', ['reset', '--hard', '--quiet', 'main'], dir);
  await identity(dir);
  const deps = join(dir, 'node_modules');
  if (options.deps === 'npm') await run('cp', ['-a', await npmDeps(cacheDir), deps], dir);
  else standInDeps(deps, options.deps);
  writeFileSync(join(dir, '.env'), 'API_URL=http://127.0.0.1:3777\n');
  writeFileSync(join(dir, '.git', 'b28-history.json'), JSON.stringify({ ...history, madeMs: performance.now() - started }));
  writeFileSync(join(dir, '.git', MARKER), `${new Date().toISOString()}\n`);
}

/** The person's git identity (TinyAGI refuses a task whose agent could not commit). */
async function identity(dir: string): Promise<void> {
  await run('git', ['config', 'user.name', 'B28'], dir);
  await run('git', ['config', 'user.email', 'b28@example.com'], dir);
}

/** Puts a reused checkout back as made: no worktree or branch of an earlier run, no tracked change. */
export async function tidy(dir: string): Promise<void> {
  const listed = await run('git', ['worktree', 'list', '--porcelain'], dir);
  for (const line of listed
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .slice(1)) {
    await run('git', ['worktree', 'remove', '--force', '--force', line.slice('worktree '.length)], dir).catch(() => undefined);
  }
  await run('git', ['worktree', 'prune'], dir);
  const branches = (await run('git', ['for-each-ref', '--format=%(refname:short)', 'refs/heads/'], dir)).split('\n').filter((b) => b !== '' && b !== 'main');
  if (branches.length > 0) await run('git', ['branch', '-D', '--quiet', ...branches], dir);
  await identity(dir);
  if ((await run('git', ['status', '--porcelain', '--untracked-files=no'], dir)).trim() !== '') throw new Error(`${dir} has tracked changes: remove the folder, the next run makes it again`);
}

/** The repository, made in the cache if it is not there yet. */
export async function largeRepository(options: LargeRepoOptions): Promise<LargeRepo> {
  const cacheDir = options.cacheDir ?? join(homedir(), '.cache', 'tinyagi-bench');
  const depsKey = options.deps === 'npm' ? `npm${Object.keys(NPM_PACKAGES).length}` : `standin${options.deps}`;
  const dir = join(cacheDir, `b28-repo-v1-${options.files}-${options.bytes}-${depsKey}`);
  const started = performance.now();
  const made = !existsSync(join(dir, '.git', MARKER));
  if (made) await makeRepository(dir, options, cacheDir);
  else await tidy(dir);
  const history = JSON.parse(readFileSync(join(dir, '.git', 'b28-history.json'), 'utf8')) as { trackedBytes: number; commits: number };
  const gitBytes = await duBytes([join(dir, '.git')]);
  const nodeModulesBytes = await duBytes([join(dir, 'node_modules')]);
  const totalBytes = await duBytes([dir]);
  const counted = await countFiles(join(dir, 'node_modules'));
  return {
    dir,
    facts: {
      files: options.files,
      trackedBytes: history.trackedBytes,
      commits: history.commits,
      checkoutBytes: totalBytes - gitBytes - nodeModulesBytes,
      gitBytes,
      nodeModulesBytes,
      nodeModulesFiles: counted.files,
      nodeModulesPackages: counted.packages,
      deps: options.deps === 'npm' ? `${Object.keys(NPM_PACKAGES).length} npm packages and their dependencies` : 'a generated stand-in',
      totalBytes,
      madeMs: made ? performance.now() - started : 0,
    },
  };
}
