/**
 * How long the production functions are: every function declaration, method, constructor,
 * accessor, arrow function and function expression with a body, in every production source file
 * (each package's `src/` but the test kit's, TinyOffice's `app/`, `components/` and `lib/`; no
 * tests, no `.d.ts`, no generated file), TS and TSX alike. A function's length is its lines from
 * its first token (the `function`, the method's name, the arrow's parameters; not the comment
 * above it) to its closing brace, inner functions included: a reader reads those too.
 *
 * The parser is TypeScript's own (`typescript/unstable/sync`: the workspace's TypeScript 7 has no
 * in-process parser; this starts its `tsgo` once, on a throwaway tsconfig that lists the files
 * with no libraries and no module resolution, so only the listed files are parsed).
 *
 * `node packages/test-kit/src/function-lengths.ts [N]` prints the functions over N lines (80 when
 * not given), longest first, and how many are over 80 and over 150;
 * packages/core/test/function-lengths.test.ts fails on a production function over 150 lines.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Node, type SourceFile, SyntaxKind } from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';
import { REPO_ROOT } from '../../../test-results.ts';

export interface FunctionLength {
  /** The file, relative to the root it was measured from. */
  file: string;
  /** The function's name, or the name it is bound to (`const f = () => …`, `{ f: () => … }`), or `(anonymous)`. */
  name: string;
  /** 1-based line of the function's first token. */
  line: number;
  lines: number;
}

/** Where production sources live, relative to the repository root. */
const TINYOFFICE_FOLDERS = ['apps/tinyoffice/app', 'apps/tinyoffice/components', 'apps/tinyoffice/lib'];
/** Packages whose `src/` is not production code: the tests' kit. */
const NOT_PRODUCTION = new Set(['test-kit']);

const isSource = (name: string): boolean => /\.tsx?$/.test(name) && !name.endsWith('.d.ts');
const GENERATED = /^\s*(?:\/\/|\/\*+|\*)\s*@?(?:generated|auto-generated|do not edit)\b/im;

function sourcesUnder(dir: string, out: string[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'test' && entry.name !== '__tests__') sourcesUnder(path, out);
    } else if (isSource(entry.name) && !/\.(?:test|spec)\.tsx?$/.test(entry.name)) {
      out.push(path);
    }
  }
}

/** Every production source file under `root` (absolute paths), generated files left out. */
export function productionSourceFiles(root: string = REPO_ROOT): string[] {
  const files: string[] = [];
  for (const pkg of readdirSync(join(root, 'packages'))) {
    if (!NOT_PRODUCTION.has(pkg)) sourcesUnder(join(root, 'packages', pkg, 'src'), files);
  }
  for (const folder of TINYOFFICE_FOLDERS) sourcesUnder(join(root, folder), files);
  // A generated file says so in its first lines; its length is its generator's business.
  return files.filter((file) => !GENERATED.test(readFileSync(file, 'utf8').slice(0, 400))).sort();
}

const FUNCTION_KINDS = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
  SyntaxKind.ArrowFunction,
  SyntaxKind.FunctionExpression,
]);

interface Named {
  name?: { kind: SyntaxKind; text?: string };
}

function nameText(node: Node | undefined): string | undefined {
  const name = (node as Named | undefined)?.name;
  if (name === undefined) return undefined;
  if (typeof name.text === 'string') return name.text;
  return undefined;
}

/** A function's own name, or the name its parent binds it to. */
function functionName(node: Node): string {
  if (node.kind === SyntaxKind.Constructor) return 'constructor';
  const own = nameText(node);
  if (own !== undefined) return own;
  const parent = node.parent;
  if (parent !== undefined && (parent.kind === SyntaxKind.VariableDeclaration || parent.kind === SyntaxKind.PropertyAssignment || parent.kind === SyntaxKind.PropertyDeclaration)) {
    const bound = nameText(parent);
    if (bound !== undefined) return bound;
  }
  return '(anonymous)';
}

function lengthsOf(sourceFile: SourceFile, file: string): FunctionLength[] {
  const found: FunctionLength[] = [];
  const visit = (node: Node): void => {
    if (FUNCTION_KINDS.has(node.kind) && (node as { body?: Node }).body !== undefined) {
      const first = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line;
      const last = sourceFile.getLineAndCharacterOfPosition(node.end).line;
      found.push({ file, name: functionName(node), line: first + 1, lines: last - first + 1 });
    }
    node.forEachChild(visit);
  };
  sourceFile.forEachChild(visit);
  return found;
}

/**
 * The length of every function in `files` (absolute paths), longest first; `file` relative to
 * `root`. One `tsgo` process parses them all.
 */
export function measureFunctions(files: readonly string[], root: string = REPO_ROOT): FunctionLength[] {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-function-lengths-'));
  const config = join(dir, 'tsconfig.json');
  writeFileSync(config, JSON.stringify({ compilerOptions: { noLib: true, noResolve: true, types: [], jsx: 'preserve' }, files }));
  const api = new API({ cwd: dir });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [config] });
    const program = snapshot.getProject(config)?.program;
    if (program === undefined) throw new Error(`tsgo opened no project for ${config}`);
    const lengths: FunctionLength[] = [];
    for (const file of files) {
      const sourceFile = program.getSourceFile(file);
      if (sourceFile === undefined) throw new Error(`tsgo did not parse ${file}`);
      lengths.push(...lengthsOf(sourceFile, relative(root, file)));
    }
    return lengths.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
  } finally {
    api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report the command prints: the functions over `over` lines and the counts over 80 and 150. */
export function formatReport(lengths: readonly FunctionLength[], over: number): string {
  const rows = lengths.filter((f) => f.lines > over).map((f) => `${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}`);
  const count = (n: number): number => lengths.filter((f) => f.lines > n).length;
  return [...rows, `${lengths.length} functions; ${count(80)} over 80 lines, ${count(150)} over 150; the longest: ${lengths[0]?.lines ?? 0} lines`].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const over = Number(process.argv[2] ?? 80);
  if (!Number.isInteger(over) || over < 0) {
    console.error('usage: node packages/test-kit/src/function-lengths.ts [N]   (the functions over N lines; 80 when not given)');
    process.exit(2);
  }
  console.log(formatReport(measureFunctions(productionSourceFiles()), over));
}
