import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { discoverTasks, linePrefixer, orderTasks, runPool, runWithPnpm, workspaceDirs, type TestTask } from '../src/task-pool.ts';
import { REPO_ROOT } from '../src/test-times.ts';
import { tempDir } from '../src/temp.ts';

it("finds every package's test and test:pg script in this workspace", () => {
  const ids = discoverTasks(REPO_ROOT).map((t) => t.id);
  expect(ids).toEqual(expect.arrayContaining(['@tinyagi/core#test', 'tinyagi#test', 'tinyagi#test:pg', 'tinyoffice#test', '@tinyagi/real-cli-test#test', '@tinyagi/bench#test']));
  expect(ids).not.toContain('@tinyagi/core#test:pg');
  expect(workspaceDirs(REPO_ROOT)).toContain(join(REPO_ROOT, 'bench'));
});

it('reads pnpm-workspace.yaml globs, quoted or not, and skips folders without a package.json', () => {
  const root = tempDir('tinyagi-pool-');
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - "libs/*"\n  - tool\n\ncatalog:\n  x: 1\n');
  const pkg = (dir: string, name: string, scripts: Record<string, string>) => {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify({ name, scripts }));
  };
  pkg('libs/a', 'a', { test: 'vitest run', 'test:pg': 'x', build: 'tsc' });
  pkg('libs/b', 'b', { build: 'tsc' });
  mkdirSync(join(root, 'libs', 'empty'));
  pkg('tool', 'tool', { test: 'x' });
  expect(discoverTasks(root)).toEqual([
    { id: 'a#test', dir: join(root, 'libs/a'), script: 'test' },
    { id: 'a#test:pg', dir: join(root, 'libs/a'), script: 'test:pg' },
    { id: 'tool#test', dir: join(root, 'tool'), script: 'test' },
  ]);
});

it('orders the named tasks first, in the given order, then the rest by id', () => {
  const task = (id: string): TestTask => ({ id, dir: '/', script: 'test' });
  const ordered = orderTasks([task('c#test'), task('a#test'), task('long#test'), task('b#test'), task('longer#test')], ['longer#test', 'long#test', 'absent#test']);
  expect(ordered.map((t) => t.id)).toEqual(['longer#test', 'long#test', 'a#test', 'b#test', 'c#test']);
});

it('prefixes whole lines only, across chunk boundaries', () => {
  let out = '';
  const lines = linePrefixer('x#test: ', (t) => (out += t));
  lines.push('one\ntw');
  lines.push('o\n\nthr');
  expect(out).toBe('x#test: one\nx#test: two\nx#test: \n');
  lines.end();
  expect(out).toBe('x#test: one\nx#test: two\nx#test: \nx#test: thr\n');
});

it('runs at most `slots` tasks at once, the next one as soon as a slot frees, and keeps going after a failure', async () => {
  const task = (id: string): TestTask => ({ id, dir: '/', script: 'test' });
  const finish = new Map<string, (code: number) => void>();
  const running = new Set<string>();
  let most = 0;
  const started: string[] = [];
  const pool = runPool([task('long'), task('a'), task('b'), task('c')], 2, (t) => {
    started.push(t.id);
    running.add(t.id);
    most = Math.max(most, running.size);
    return new Promise((resolve) =>
      finish.set(t.id, (code) => {
        running.delete(t.id);
        resolve(code);
      }),
    );
  });
  const until = async (ids: string[]) => {
    while (!ids.every((id) => finish.has(id))) await new Promise((r) => setImmediate(r));
  };
  await until(['long', 'a']);
  expect(started).toEqual(['long', 'a']);
  finish.get('a')!(1);
  await until(['b']);
  finish.get('b')!(0);
  await until(['c']);
  finish.get('c')!(0);
  finish.get('long')!(0);
  const run = await pool;
  expect(most).toBe(2);
  expect(run.tasks.map((t) => [t.task, t.exitCode])).toEqual([
    ['long', 0],
    ['a', 1],
    ['b', 0],
    ['c', 0],
  ]);
});

it("runs a real package's script with pnpm: every line prefixed, stdout and stderr, its exit code", async () => {
  const dir = tempDir('tinyagi-pool-pkg-');
  const script = "console.log('out one'); console.error('err one'); process.stdout.write('no newline'); process.exit(3)";
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, scripts: { test: `node -e "${script}"` } }));
  let out = '';
  const code = await runWithPnpm({ id: 'fixture#test', dir, script: 'test' }, new AbortController().signal, (t) => (out += t));
  expect(code).toBe(3);
  const lines = out.trimEnd().split('\n');
  expect(lines.every((l) => l.startsWith('fixture#test: '))).toBe(true);
  expect(lines).toEqual(expect.arrayContaining(['fixture#test: out one', 'fixture#test: err one', 'fixture#test: no newline']));
});

it('stops a running task and its children when the signal aborts', async () => {
  const dir = tempDir('tinyagi-pool-stop-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'sleeper', private: true, scripts: { test: `node -e "console.log('ready'); setInterval(() => {}, 1000)"` } }));
  const stop = new AbortController();
  let out = '';
  const done = runWithPnpm({ id: 'sleeper#test', dir, script: 'test' }, stop.signal, (t) => {
    out += t;
    if (out.includes('ready')) stop.abort();
  });
  expect(await done).not.toBe(0);
});
