/**
 * Held folders (docs/sandbox.md, "What a confined run leaves behind"): a folder a confined run
 * worked in read-write — an unsandboxed agent's workspace it was called into, a task's worktree —
 * may now hold anything that run wrote: a CLI's hooks (`.claude/settings.json`), `.mcp.json`,
 * `package.json` scripts, a Makefile, `.envrc`, `.git/hooks`, instructions a model follows. So
 * from then on every run and every task command in that folder runs confined too, by the same
 * agents, until a person who has looked at the folder releases it. The settings are never
 * changed: the hold is a record of this node's, beside the folder it names.
 *
 * One JSON file per folder under `<TINYAGI_HOME>/held/` (the TinyAGI home is hidden from every
 * sandboxed process, so a confined run cannot lift its own hold), named by a hash of the folder's
 * path; written whole, then renamed into place.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Env, resolveTinyHome } from '../config/paths.ts';

/** Why a folder is held, and by whom. */
export interface FolderHold {
  /** The folder, absolute. */
  folder: string;
  /** The agent whose confined run worked there first. */
  agent: string;
  /** The agents whose confinement later runs there take (every confined run's chain, merged). */
  confinedBy: string[];
  /** The run that made the hold (the first). */
  runId: string;
  /** When the hold was made (ISO 8601). */
  since: string;
}

function heldDir(env: Env): string {
  return join(resolveTinyHome(env), 'held');
}

function holdFile(env: Env, folder: string): string {
  return join(heldDir(env), `${createHash('sha256').update(resolve(folder)).digest('hex').slice(0, 32)}.json`);
}

function parseHold(text: string): FolderHold | undefined {
  try {
    const value = JSON.parse(text) as Partial<FolderHold>;
    if (typeof value.folder !== 'string' || typeof value.agent !== 'string' || !Array.isArray(value.confinedBy)) return undefined;
    return {
      folder: value.folder,
      agent: value.agent,
      confinedBy: value.confinedBy.filter((id): id is string => typeof id === 'string'),
      runId: typeof value.runId === 'string' ? value.runId : '',
      since: typeof value.since === 'string' ? value.since : '',
    };
  } catch {
    return undefined;
  }
}

/** The hold on `folder` (or on a folder that holds it: a held workspace holds what is inside), or undefined. */
export function folderHold(env: Env, folder: string): FolderHold | undefined {
  let dir = resolve(folder);
  for (;;) {
    const hold = readHold(env, dir);
    if (hold) return hold;
    const parent = resolve(dir, '..');
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readHold(env: Env, folder: string): FolderHold | undefined {
  let text: string;
  try {
    text = readFileSync(holdFile(env, folder), 'utf8');
  } catch {
    return undefined;
  }
  const hold = parseHold(text);
  // A file that is not a hold (damaged) still holds its folder, by nobody named: never a silent release.
  return hold ?? { folder, agent: '', confinedBy: [], runId: '', since: '' };
}

/**
 * Holds `folder` for a confined run of `agent` by `confinedBy`; an existing hold keeps its first
 * run and time and gains the chain's agents it lacked. Returns the hold when it is new or grew.
 */
export function holdFolder(env: Env, input: { folder: string; agent: string; confinedBy: readonly string[]; runId: string; now?: Date }): FolderHold | undefined {
  const folder = resolve(input.folder);
  const existing = readHold(env, folder);
  const confinedBy = [...new Set([...(existing?.confinedBy ?? []), ...input.confinedBy])];
  if (existing && existing.agent !== '' && confinedBy.length === existing.confinedBy.length) return undefined;
  const hold: FolderHold =
    existing && existing.agent !== '' ? { ...existing, confinedBy } : { folder, agent: input.agent, confinedBy, runId: input.runId, since: (input.now ?? new Date()).toISOString() };
  mkdirSync(heldDir(env), { recursive: true, mode: 0o700 });
  const file = holdFile(env, folder);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(hold, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return hold;
}

/** Lifts the hold on `folder` itself (a person looked at it, or the folder is gone); true when there was one. */
export function releaseFolder(env: Env, folder: string): boolean {
  const file = holdFile(env, folder);
  const had = readHold(env, resolve(folder)) !== undefined;
  rmSync(file, { force: true });
  return had;
}

/** Every hold of this node, oldest first. */
export function heldFolders(env: Env): FolderHold[] {
  let names: string[];
  try {
    names = readdirSync(heldDir(env)).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names
    .flatMap((name) => {
      try {
        const hold = parseHold(readFileSync(join(heldDir(env), name), 'utf8'));
        return hold ? [hold] : [];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.since.localeCompare(b.since));
}
