/**
 * Where a V8 CPU profile's time went: self time summed per function and per source file over one
 * or more `.cpuprofile` files (node's `--cpu-prof`), largest first.
 *
 *   node bench/scripts/cpuprofile-top.ts DIR_OR_FILES… [--top 30]
 *
 * Positions in a file that has a source map beside it (`<file>.map`, as the daemon's bundle in
 * packages/cli/dist ships) are mapped to the original source file, so "by file" names
 * packages/core/src/… rather than a chunk of the bundle. Idle, GC and program samples are shown
 * apart ("(idle)", "(garbage collector)", "(program)").
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CpuProfile, type ProfileNode, samplesOf } from '../src/cpuprofile.ts';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 30;
const inputs = args.filter((a, i) => a !== '--top' && i !== topAt + 1);
if (inputs.length === 0) {
  console.error('usage: cpuprofile-top.ts DIR_OR_FILES… [--top N]');
  process.exit(2);
}
const files = inputs.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(p, f))
    : [p],
);

const maps = new Map<string, SourceMap | null>();
function sourceMap(url: string): SourceMap | null {
  if (!maps.has(url)) {
    let map: SourceMap | null = null;
    try {
      const path = url.startsWith('file:') ? fileURLToPath(url) : url;
      if (path.startsWith('/') && existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(url, map);
  }
  return maps.get(url)!;
}

/** Function name and original file of a call frame (through the source map when there is one). */
function place(frame: ProfileNode['callFrame']): { fn: string; file: string } {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return { fn: name, file: name.startsWith('(') ? name : '(native)' };
  const entry = sourceMap(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry && 'originalSource' in entry && entry.originalSource) {
    const file = entry.originalSource.replace(/^.*?\/(packages|node_modules|apps|bench)\//, '$1/');
    return { fn: `${name} ${file}:${entry.originalLine + 1}`, file };
  }
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*?\/(packages|node_modules|apps|bench)\//, '$1/');
  return { fn: `${name} ${file}:${frame.lineNumber + 1}`, file };
}

const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
let totalMs = 0;
for (const file of files) {
  for (const [node, ms] of samplesOf(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile)) {
    const where = place(node.callFrame);
    byFn.set(where.fn, (byFn.get(where.fn) ?? 0) + ms);
    byFile.set(where.file, (byFile.get(where.file) ?? 0) + ms);
    totalMs += ms;
  }
}

const print = (title: string, table: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, ms] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms.toFixed(1).padStart(10)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)} %  ${name}`);
};
console.log(`${files.length} profile${files.length === 1 ? '' : 's'}, ${totalMs.toFixed(0)} ms sampled`);
print('self time by function', byFn);
print('self time by source file', byFile);
