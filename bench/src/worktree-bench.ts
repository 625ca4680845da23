/**
 * B21: a task's worktree for a repository of 10,000 files (docs/git-tasks.md, "A worktree per
 * task"), beside the floor and the clones a user would otherwise make, in the same run.
 *
 * The repository is made here, deterministically: B21_FILES tracked files in nested folders (a
 * few MB of text), a handful of commits, packed as a clone from a remote is (`git repack -a -d`);
 * beside them, ignored by git, a `node_modules` folder and a `.env`. The binding links
 * `node_modules` and copies `.env` into each task's folder, and its setup is `true`.
 *
 * Each round makes one task folder each way, in a rotating order, each timed from the call until
 * the folder is ready (branch, file rules, setup):
 * - TinyAGI's `createTaskWorktree` (what the daemon runs when a task enters In progress);
 * - the floor: `git worktree add -b <branch> <dir> main` alone (no file rules, no setup);
 * - `git clone <path>` (git hardlinks the objects of a local repository), `git switch -c`, the
 *   same link, copy and setup;
 * - `git clone --no-local <path>` (objects sent and indexed, as from a remote), the same.
 * `sync` runs before each (untimed), so one way's writeback does not slow the next; a time is
 * therefore to the page cache, not to the disk. After each, untimed, its disk is read and the
 * folder (and branch) removed, so every round starts from the same repository.
 *
 * Disk per task: the task's folder, plus for a worktree its admin folder under .git/worktrees/.
 * Read three ways: `du -sk` (GNU du counts a file with several links once per run, but a file
 * hardlinked to the repository as the folder's own); the blocks of the inodes not shared with the
 * repository (each inode once; those hardlinked to the repository counted apart); and the
 * filesystem's used blocks before and after (statfs: anything else writing at that moment counts).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, type Stats, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { seeded } from './memory-corpus.ts';
import { resolveProjectRepo } from '@tinyagi/git-tasks';
import { QUIET_GIT_ENV } from '@tinyagi/test-kit';
import { createTaskWorktree } from '../../packages/git-tasks/src/worktrees.ts';
import { percentile } from './machine.ts';

export interface WorktreeBenchOptions {
  /** Tracked files in the repository. */
  files: number;
  /** Measured rounds (one task folder each way per round), after one unmeasured. */
  rounds: number;
  /** Where the bench makes its temp folder (default: the system's); removed at the end. */
  tmpRoot?: string;
}

export type WayId = 'floor' | 'tinyagi' | 'clone' | 'clone-no-local';

export interface WayFigures {
  id: WayId;
  label: string;
  ms: number[];
  /** `du -sk` of the task's folder (and a worktree's admin folder), KiB. */
  duKiB: number[];
  /** Blocks of the inodes not shared with the repository, each once, KiB. */
  newKiB: number[];
  /** Blocks of the inodes hardlinked to the repository's, KiB. */
  sharedKiB: number[];
  /** Inodes not shared with the repository (files, folders, links). */
  newInodes: number[];
  /** The filesystem's used blocks after the call minus before it, KiB. */
  statfsKiB: number[];
}

export interface RepoFacts {
  files: number;
  /** The tracked files' bytes. */
  textBytes: number;
  commits: number;
  packKiB: number;
  nodeModulesFiles: number;
}

export interface WorktreeBenchResult {
  repo: RepoFacts;
  ways: WayFigures[];
}

const WAYS: Array<{ id: WayId; label: string }> = [
  { id: 'floor', label: '`git worktree add -b <branch> <dir> main` alone (the floor)' },
  { id: 'tinyagi', label: "TinyAGI's `createTaskWorktree`: worktree and branch, `node_modules` linked, `.env` copied, setup `true`" },
  { id: 'clone', label: '`git clone <path>` (objects hardlinked), `git switch -c`, the same link, copy and setup' },
  { id: 'clone-no-local', label: '`git clone --no-local <path>` (objects copied, as from a remote), the same' },
];

/** A fixed date for every commit, so the repository's objects are the same in every run. */
const COMMIT_DATE = '2026-01-01T00:00:00Z';

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    );
  });
}

const gitIn = (cwd: string, ...args: string[]) => run('git', args, cwd, { GIT_AUTHOR_DATE: COMMIT_DATE, GIT_COMMITTER_DATE: COMMIT_DATE });

const WORDS = ['task', 'agent', 'queue', 'run', 'reply', 'worker', 'branch', 'commit', 'check', 'round', 'message', 'session', 'token', 'event', 'store'];

/** File i's path: 10 files a folder, three levels (`src/d3/d4/d7/f347.ts`), a few kinds. */
function filePath(i: number): string {
  const ext = i % 10 === 0 ? 'md' : i % 10 === 1 ? 'json' : 'ts';
  return join('src', `d${Math.floor(i / 1000)}`, `d${Math.floor(i / 100) % 10}`, `d${Math.floor(i / 10) % 10}`, `f${i}.${ext}`);
}

/** File i's text: mostly short (a few hundred bytes), one in a hundred ten times longer. */
function fileText(i: number, version: number): string {
  const next = seeded(i * 7919 + 1);
  const lines = (3 + Math.floor(next() ** 3 * 60)) * (i % 100 === 7 ? 10 : 1);
  const out: string[] = [`// file ${i}, version ${version}`];
  for (let k = 0; k < lines; k++) {
    const word = WORDS[Math.floor(next() * WORDS.length)]!;
    out.push(`export const ${word}${i}_${k} = ${Math.floor(next() * 1e6)}; // ${word}`);
  }
  return `${out.join('\n')}\n`;
}

/** Makes the repository under `root`: tracked files, a handful of commits, one pack; `node_modules` and `.env` ignored beside them. */
async function makeRepository(root: string, files: number): Promise<{ repoDir: string; facts: RepoFacts }> {
  const repoDir = join(root, 'repo');
  mkdirSync(repoDir);
  await gitIn(repoDir, 'init', '--quiet', '-b', 'main');
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(repoDir, rel)), { recursive: true });
    writeFileSync(join(repoDir, rel), text);
  };
  write('.gitignore', 'node_modules\n.env\n');
  write('README.md', '# B21\n\nA generated repository for the worktree benchmark.\n');
  for (let i = 0; i < files - 2; i++) write(filePath(i), fileText(i, 0));
  await gitIn(repoDir, 'add', '--all');
  await gitIn(repoDir, 'commit', '--quiet', '-m', 'initial');
  // A handful of later commits, each changing a few dozen files.
  const later = 4;
  for (let c = 1; c <= later; c++) {
    for (let i = c; i < files - 2; i += Math.max(1, Math.floor(files / 50))) write(filePath(i), fileText(i, c));
    await gitIn(repoDir, 'commit', '--quiet', '--all', '-m', `change ${c}`);
  }
  let textBytes = lstatSync(join(repoDir, '.gitignore')).size + lstatSync(join(repoDir, 'README.md')).size;
  for (let i = 0; i < files - 2; i++) textBytes += lstatSync(join(repoDir, filePath(i))).size;
  await gitIn(repoDir, 'repack', '-a', '-d', '--quiet');
  // Ignored by git: what the binding's rules link and copy.
  let nodeModulesFiles = 0;
  for (let p = 0; p < 200; p++) {
    for (const name of ['package.json', 'index.js', 'lib/a.js', 'lib/b.js', 'README.md']) {
      write(join('node_modules', `pkg-${p}`, name), `// pkg-${p}/${name}\n${'module.exports = 1;\n'.repeat(20 + ((p * 13) % 80))}`);
      nodeModulesFiles++;
    }
  }
  write('.env', 'API_URL=http://127.0.0.1:3777\nAPI_TOKEN=not-a-secret\n');
  const packDir = join(repoDir, '.git', 'objects', 'pack');
  const packKiB = readdirSync(packDir).reduce((sum, name) => sum + lstatSync(join(packDir, name)).blocks / 2, 0);
  return { repoDir, facts: { files, textBytes, commits: 1 + later, packKiB, nodeModulesFiles } };
}

const inodeKey = (s: { dev: number; ino: number }) => `${s.dev}:${s.ino}`;

/** Every inode under `dir` (itself included), symlinks not followed. */
function inodesUnder(dir: string, visit: (s: Stats) => void): void {
  const s = lstatSync(dir);
  visit(s);
  if (!s.isDirectory()) return;
  for (const name of readdirSync(dir)) inodesUnder(join(dir, name), visit);
}

/** The blocks (KiB) of the inodes under `dirs` not in `repoInodes`, each once; and those that are (hardlinks to the repository's files). */
function newBlocks(dirs: string[], repoInodes: Set<string>): { newKiB: number; sharedKiB: number; newInodes: number } {
  const seen = new Set<string>();
  let newKiB = 0;
  let sharedKiB = 0;
  let newInodes = 0;
  for (const dir of dirs) {
    inodesUnder(dir, (s) => {
      const key = inodeKey(s);
      if (seen.has(key)) return;
      seen.add(key);
      // A hardlink is a file with a second name (nlink > 1; a folder's nlink counts its subfolders);
      // an inode number of the repository's that a file since deleted (git's lock and temporary
      // files) gave back and a new file or folder took is new blocks.
      if (repoInodes.has(key) && s.isFile() && s.nlink > 1) sharedKiB += s.blocks / 2;
      else {
        newKiB += s.blocks / 2;
        newInodes++;
      }
    });
  }
  return { newKiB, sharedKiB, newInodes };
}

async function duKiB(paths: string[]): Promise<number> {
  const out = await run('du', ['-s', '-k', '-c', ...paths], '/');
  const total = out.trim().split('\n').at(-1) ?? '';
  return Number(total.split(/\s+/)[0]);
}

function usedKiB(path: string): number {
  const s = statfsSync(path);
  return ((s.blocks - s.bfree) * s.bsize) / 1024;
}

export async function measureB21(options: WorktreeBenchOptions): Promise<WorktreeBenchResult> {
  // No system or user git config (a hook or signing setting would change the figures), no automatic gc: test-kit's quiet git,
  // in this process's environment because the engine's git reads it there; put back at the end (a test worker runs other files after).
  const saved = Object.fromEntries(Object.keys(QUIET_GIT_ENV).map((name) => [name, process.env[name]]));
  Object.assign(process.env, QUIET_GIT_ENV);
  const root = mkdtempSync(join(options.tmpRoot ?? tmpdir(), 'tinyagi-b21-'));
  try {
    const { repoDir, facts } = await makeRepository(root, options.files);
    const repoInodes = new Set<string>();
    inodesUnder(repoDir, (s) => repoInodes.add(inodeKey(s)));
    const worktreeRoot = join(root, 'worktrees');
    const clonesRoot = join(root, 'clones');
    mkdirSync(worktreeRoot);
    mkdirSync(clonesRoot);
    const ctx = resolveProjectRepo(
      {
        path: repoDir,
        baseRef: 'main',
        worktreeRoot,
        files: [
          { path: 'node_modules', mode: 'link' },
          { path: '.env', mode: 'copy' },
        ],
        setup: { argv: ['true'], timeoutMs: 60_000 },
      },
      { projectId: 'b21', home: join(root, 'home') },
    );

    /** What a user's own script does after a clone: the same link, copy and setup. */
    const sameRulesAndSetup = async (dir: string) => {
      symlinkSync(join(repoDir, 'node_modules'), join(dir, 'node_modules'));
      copyFileSync(join(repoDir, '.env'), join(dir, '.env'));
      await run('true', [], dir);
    };

    /** Makes one task folder the given way: the timed part, then what to measure and how to remove it. */
    const make = async (id: WayId, n: number): Promise<{ ms: number; paths: string[]; remove: () => Promise<void> }> => {
      const branch = `b21/${id}-${n}`;
      const t0 = performance.now();
      if (id === 'tinyagi') {
        const made = await createTaskWorktree(ctx, { id: `task-${n}`, identifier: `B21-${n}`, title: 'Bench task' });
        const ms = performance.now() - t0;
        if (made.setup?.ok !== true || made.files.map((f) => f.outcome).join(',') !== 'linked,copied')
          throw new Error(`createTaskWorktree did not do the rules and setup: ${JSON.stringify(made.files)}`);
        const admin = (await gitIn(made.path, 'rev-parse', '--absolute-git-dir')).trim();
        return { ms, paths: [made.path, admin], remove: () => removeWorktree(made.path, made.branch) };
      }
      if (id === 'floor') {
        const dir = join(worktreeRoot, `floor-${n}`);
        await run('git', ['worktree', 'add', '--quiet', '-b', branch, dir, 'main'], repoDir);
        const ms = performance.now() - t0;
        const admin = (await gitIn(dir, 'rev-parse', '--absolute-git-dir')).trim();
        return { ms, paths: [dir, admin], remove: () => removeWorktree(dir, branch) };
      }
      const dir = join(clonesRoot, `${id}-${n}`);
      await run('git', ['clone', '--quiet', ...(id === 'clone-no-local' ? ['--no-local'] : []), repoDir, dir], clonesRoot);
      await run('git', ['switch', '--quiet', '-c', branch], dir);
      await sameRulesAndSetup(dir);
      const ms = performance.now() - t0;
      return { ms, paths: [dir], remove: async () => rmSync(dir, { recursive: true, force: true }) };
    };

    const removeWorktree = async (dir: string, branch: string) => {
      await run('git', ['worktree', 'remove', '--force', dir], repoDir);
      await run('git', ['branch', '-D', '--quiet', branch], repoDir);
    };

    const ways: WayFigures[] = WAYS.map((w) => ({ ...w, ms: [], duKiB: [], newKiB: [], sharedKiB: [], newInodes: [], statfsKiB: [] }));
    let n = 0;
    for (let round = 0; round <= options.rounds; round++) {
      const warmUp = round === 0;
      const order = ways.map((_, i) => ways[(i + round) % ways.length]!);
      for (const way of order) {
        n++;
        await run('sync', [], root);
        const before = usedKiB(root);
        const made = await make(way.id, n);
        const after = usedKiB(root);
        if (!warmUp) {
          const blocks = newBlocks(made.paths, repoInodes);
          way.ms.push(made.ms);
          way.statfsKiB.push(after - before);
          way.duKiB.push(await duKiB(made.paths));
          way.newKiB.push(blocks.newKiB);
          way.sharedKiB.push(blocks.sharedKiB);
          way.newInodes.push(blocks.newInodes);
        }
        await made.remove();
      }
      if (!warmUp) process.stderr.write(`B21 round ${round}/${options.rounds}: ${ways.map((w) => `${w.id} ${w.ms.at(-1)!.toFixed(0)}`).join(', ')} ms\n`);
    }
    return { repo: facts, ways };
  } finally {
    rmSync(root, { recursive: true, force: true });
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => percentile(sorted(xs), 50);
const p90 = (xs: number[]) => percentile(sorted(xs), 90);
const kib = (x: number) => Math.round(x).toLocaleString('en-US');

export function formatB21(result: WorktreeBenchResult, rounds: number): string {
  const { repo, ways } = result;
  const floor = median(ways.find((w) => w.id === 'floor')!.ms);
  const time = [
    `Milliseconds from the call until the task's folder is ready, ${rounds} rounds, one of each way a round in a rotating order (medians and 90th percentiles; the floor in the same rounds).`,
    '',
    '| way | median | p90 | median − floor |',
    '|---|---|---|---|',
    ...ways.map((w) => `| ${w.label} | ${median(w.ms).toFixed(0)} | ${p90(w.ms).toFixed(0)} | ${w.id === 'floor' ? '' : (median(w.ms) - floor).toFixed(0)} |`),
  ];
  const disk = [
    `Disk per task, KiB (medians of the ${rounds} rounds): the task's folder, and a worktree's admin folder under \`.git/worktrees/\`.`,
    '',
    "| way | `du -sk` (a file hardlinked to the repository counted as the folder's) | new blocks (inodes not shared with the repository, each once) | new inodes | hardlinked to the repository (not new) | the filesystem's used blocks, after − before |",
    '|---|---|---|---|---|---|',
    ...ways.map((w) => `| ${w.label} | ${kib(median(w.duKiB))} | ${kib(median(w.newKiB))} | ${kib(median(w.newInodes))} | ${kib(median(w.sharedKiB))} | ${kib(median(w.statfsKiB))} |`),
  ];
  const about = `The repository: ${repo.files.toLocaleString('en-US')} tracked files in 3 levels of folders (${(repo.textBytes / 2 ** 20).toFixed(1)} MiB of text), ${repo.commits} commits, one pack of ${kib(repo.packKiB)} KiB; ignored beside them, \`node_modules\` (${repo.nodeModulesFiles.toLocaleString('en-US')} files) and \`.env\`.`;
  return [about, '', ...time, '', ...disk].join('\n');
}

export async function benchB21(options: WorktreeBenchOptions): Promise<string> {
  return formatB21(await measureB21(options), options.rounds);
}
