/**
 * The agent's long-term memory: markdown files under `<workspace>/memory/**` whose front matter
 * carries `name:` and `summary:`. Folders are categories. The index is bounded (file count,
 * folder depth, bytes read per file, field length) so a runaway memory folder cannot blow up the
 * system prompt or the time it takes to build it. Hidden entries, symlinks and files without
 * front matter are not indexed.
 */
import { readdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './errno.ts';
import { WORKSPACE_PATHS } from './provision.ts';

export interface MemoryEntry {
  /** Path relative to `memory/`, with `/` separators (`projects/website.md`). */
  path: string;
  name: string;
  summary: string;
}

export interface MemoryBounds {
  /** Most files considered; shallower files win, then alphabetical order. */
  maxFiles: number;
  /** Most folder levels below `memory/` (files directly in `memory/` are at depth 0). */
  maxDepth: number;
}

export const DEFAULT_MEMORY_BOUNDS: MemoryBounds = { maxFiles: 200, maxDepth: 4 };

/** Front matter must close within this many bytes from the start of the file. */
const FRONT_MATTER_MAX_BYTES = 8 * 1024;
const NAME_MAX_CHARS = 120;
const SUMMARY_MAX_CHARS = 300;

export interface MemoryFile {
  path: string;
  absolutePath: string;
}

/**
 * The `.md` files the index considers, breadth first in byte order of names, so the same tree
 * always yields the same list, even when the bounds cut it. Synchronous: it runs before every
 * invocation (the prompt cache's key), and a few bounded local readdirs cost less CPU than
 * as many thread-pool round trips.
 */
export function listMemoryFiles(workspaceDir: string, bounds: MemoryBounds = DEFAULT_MEMORY_BOUNDS): MemoryFile[] {
  const files: MemoryFile[] = [];
  let level: string[] = [''];
  for (let depth = 0; depth <= bounds.maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const folder of level) {
      for (const entry of readDirSorted(join(workspaceDir, WORKSPACE_PATHS.memoryDir, folder))) {
        if (entry.name.startsWith('.')) continue;
        const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
        if (entry.isDirectory()) next.push(path);
        else if (entry.isFile() && entry.name.endsWith('.md')) {
          files.push({ path, absolutePath: join(workspaceDir, WORKSPACE_PATHS.memoryDir, path) });
          if (files.length >= bounds.maxFiles) return files;
        }
      }
    }
    level = next;
  }
  return files;
}

export async function readMemoryIndex(workspaceDir: string, bounds: MemoryBounds = DEFAULT_MEMORY_BOUNDS): Promise<MemoryEntry[]> {
  const entries: MemoryEntry[] = [];
  for (const file of listMemoryFiles(workspaceDir, bounds)) {
    const head = await readHead(file.absolutePath);
    const fields = head === undefined ? undefined : parseFrontMatter(head);
    if (fields === undefined) continue;
    const name = clip(fields['name'] ?? '', NAME_MAX_CHARS) || file.path.slice(file.path.lastIndexOf('/') + 1, -'.md'.length);
    entries.push({ path: file.path, name, summary: clip(fields['summary'] ?? '', SUMMARY_MAX_CHARS) });
  }
  return entries.sort((a, b) => compareStrings(a.path, b.path));
}

/** The index as it appears in the system prompt. */
export function formatMemoryIndex(entries: readonly MemoryEntry[]): string {
  if (entries.length === 0) {
    return 'No memories yet. Create the first file in `memory/` when you learn something worth keeping.';
  }
  return entries.map((entry) => `- ${entry.name} (memory/${entry.path})${entry.summary === '' ? '' : `: ${entry.summary}`}`).join('\n');
}

/**
 * Simple `key: value` lines between `---` fences at the very top of the file (a closing `...` is
 * accepted too). Keys are lower-cased; matching surrounding quotes are removed. Returns undefined
 * when the file has no complete front matter. Deliberately not YAML: no nesting, no lists.
 */
export function parseFrontMatter(text: string): Record<string, string> | undefined {
  return splitFrontMatter(text)?.fields;
}

/** The front matter's fields (as parseFrontMatter) and the text after it; undefined without a complete front matter. */
export function splitFrontMatter(text: string): { fields: Record<string, string>; body: string } | undefined {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() !== '---') return undefined;
  // No prototype: a key from the file (`__proto__`) stays a field.
  const fields: Record<string, string> = Object.create(null);
  for (const [i, line] of lines.entries()) {
    if (i === 0) continue;
    const trimmed = line.trim();
    if (trimmed === '---' || trimmed === '...') return { fields, body: lines.slice(i + 1).join('\n') };
    const match = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(trimmed);
    if (match?.[1] !== undefined && match[2] !== undefined) fields[match[1].toLowerCase()] = unquote(match[2].trim());
  }
  return undefined;
}

function unquote(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'") && value.endsWith(first)) return value.slice(1, -1);
  return value;
}

function clip(value: string, max: number): string {
  const oneLine = value.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

function readDirSorted(dir: string) {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return entries.sort((a, b) => compareStrings(a.name, b.name));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

async function readHead(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    // Deleted between listing and reading: the agent may be editing its memory right now.
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buffer = Buffer.alloc(FRONT_MATTER_MAX_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Code-unit order, independent of the process locale, so output is identical everywhere. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
