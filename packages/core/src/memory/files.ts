/**
 * An agent's `memory/*.md` files (the reference's format: `name` and `summary` front matter, then
 * the text) and its memory entries, both ways (docs/memory.md):
 * - import: each file becomes an accepted entry of the agent's memory, decided by `import`, its
 *   provenance `import:memory/<path>`. The entry's id is derived from the agent and the path, so a
 *   file is imported once whatever the number of imports, processes or nodes (a person who retired
 *   or edited the entry is not overridden by the file);
 * - export: the agent's accepted entries as files, an imported entry at its file's path. A file
 *   written in the canonical form below comes back byte for byte.
 *
 * Canonical form: `---`, `name: …`, `summary: …`, `kind: …` (unless `fact`), `pinned: true` (when
 * pinned), `---`, a blank line, the text and a newline. A file whose text is empty holds only its
 * summary (the entry's text is the summary; nothing follows the front matter).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MEMORY_KINDS, MEMORY_TEXT_MAX, type MemoryFile, type MemoryImportResult, type MemoryKind, type MemoryRecord } from '@tinyagi/client/contract';
import { errorMessage } from '../errors.ts';
import { listMemoryFiles, splitFrontMatter } from '../workspace/memory.ts';
import { refuseSecret } from './proposal-checks.ts';
import type { MemoryStoreApi } from './store.ts';

/** Who decides an imported entry. */
export const IMPORT_DECIDER = 'import';
const IMPORT_SOURCE = 'import:memory/';
/** The most bytes of one file read from a workspace (a memory file is a few paragraphs). */
const FILE_MAX_BYTES = 64_000;

/** The id of the entry a file of an agent's memory becomes: the same on every import. */
export function importedEntryId(agentId: string, path: string): string {
  return `mem_file_${createHash('sha256').update(`${agentId}\0${path}`).digest('hex').slice(0, 24)}`;
}

/** The path (relative to `memory/`) an entry was imported from, or undefined. */
export function importedPath(entry: Pick<MemoryRecord, 'provenance'>): string | undefined {
  const by = entry.provenance.proposedBy;
  return by.startsWith(IMPORT_SOURCE) ? by.slice(IMPORT_SOURCE.length) : undefined;
}

/** Why a path cannot be a file of `memory/` (absolute, `..`, hidden, not `.md`), or undefined. */
export function badMemoryPath(path: string): string | undefined {
  if (!path.endsWith('.md')) return 'not a .md file';
  const parts = path.split('/');
  if (path.startsWith('/') || path.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) return 'not a relative path inside memory/';
  if (parts.some((p) => p.startsWith('.'))) return 'hidden';
  return undefined;
}

interface ParsedFile {
  name: string;
  summary: string;
  kind: MemoryKind;
  pinned: boolean;
  text: string;
}

/** A file's front matter and text; a string says why it is not an entry. */
export function parseMemoryFile(path: string, content: string): ParsedFile | string {
  const split = splitFrontMatter(content);
  if (split === undefined) return 'no front matter';
  const { fields } = split;
  const summary = oneLine(fields['summary'] ?? '');
  const body = split.body.trim();
  const text = body === '' ? summary : body;
  if (text === '') return 'no text';
  if (text.length > MEMORY_TEXT_MAX) return `longer than ${MEMORY_TEXT_MAX} characters (a memory is a few sentences)`;
  const kind = (MEMORY_KINDS as readonly string[]).includes(fields['kind'] ?? '') ? (fields['kind'] as MemoryKind) : 'fact';
  const stem = path.slice(path.lastIndexOf('/') + 1, -'.md'.length);
  return { name: oneLine(fields['name'] ?? '') || stem, summary, kind, pinned: fields['pinned'] === 'true', text };
}

/** Imports files into an agent's memory (see the module comment). */
export async function importMemoryFiles(store: MemoryStoreApi, agentId: string, files: readonly MemoryFile[], now = Date.now()): Promise<MemoryImportResult> {
  const result: MemoryImportResult = { imported: [], already: 0, skipped: [] };
  for (const file of files) {
    const bad = badMemoryPath(file.path);
    const parsed = bad ?? parseMemoryFile(file.path, file.content);
    if (typeof parsed === 'string') {
      result.skipped.push({ path: file.path, reason: parsed });
      continue;
    }
    try {
      refuseSecret(parsed.text);
    } catch (err) {
      result.skipped.push({ path: file.path, reason: errorMessage(err) });
      continue;
    }
    const entry = await store.createIfAbsent({
      id: importedEntryId(agentId, file.path),
      scope: { kind: 'agent', id: agentId },
      kind: parsed.kind,
      action: 'remember',
      text: parsed.text,
      name: parsed.name,
      summary: parsed.summary === '' ? null : parsed.summary,
      pinned: parsed.pinned,
      proposedBy: `${IMPORT_SOURCE}${file.path}`,
      acceptedBy: IMPORT_DECIDER,
      now,
    });
    if (entry) result.imported.push(entry);
    else result.already++;
  }
  return result;
}

/** The `.md` files of a workspace's `memory/` folder (the index's bounds), with their content; one gone or unreadable since the listing is left out. */
export function readWorkspaceMemoryFiles(workspaceDir: string): MemoryFile[] {
  return listMemoryFiles(workspaceDir).flatMap((f) => {
    try {
      return [{ path: f.path, content: readFileSync(f.absolutePath, 'utf8').slice(0, FILE_MAX_BYTES) }];
    } catch {
      // The agent may be editing its memory right now: the file is read at the next import.
      return [];
    }
  });
}

/** An agent's accepted entries as files, by path (an entry without a file is named after its name or text, the older first when two would share a name). */
export async function exportMemoryFiles(store: MemoryStoreApi, agentId: string): Promise<MemoryFile[]> {
  const entries = (await store.list({ scopes: [{ kind: 'agent', id: agentId }], status: 'accepted', action: 'remember', limit: 100_000 })).reverse();
  const taken = new Set(entries.map(importedPath).filter((p): p is string => p !== undefined));
  const files = entries.map((entry) => {
    let path = importedPath(entry);
    if (path === undefined) {
      const base = slug(entry.name ?? entry.text) || 'entry';
      path = `${base}.md`;
      for (let n = 2; taken.has(path); n++) path = `${base}-${n}.md`;
      taken.add(path);
    }
    return { path, content: renderMemoryFile(entry) };
  });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One entry in the canonical form. */
export function renderMemoryFile(entry: Pick<MemoryRecord, 'name' | 'summary' | 'kind' | 'pinned' | 'text'>): string {
  const summary = entry.summary ?? firstLine(entry.text);
  const front = [
    '---',
    `name: ${quoted(oneLine(entry.name ?? '') || firstLine(entry.text, 80))}`,
    `summary: ${quoted(summary)}`,
    ...(entry.kind !== 'fact' ? [`kind: ${entry.kind}`] : []),
    ...(entry.pinned ? ['pinned: true'] : []),
    '---',
  ].join('\n');
  return entry.summary !== null && entry.text === entry.summary ? `${front}\n` : `${front}\n\n${entry.text}\n`;
}

function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

function firstLine(text: string, max = 300): string {
  const line = oneLine(text.split('\n', 1)[0] ?? '');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** A value the front matter reader would unquote is wrapped in the other quotes, so it reads back as written. */
function quoted(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'") && value.endsWith(first)) return first === '"' ? `'${value}'` : `"${value}"`;
  return value;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}
