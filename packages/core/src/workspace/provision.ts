/**
 * Workspace provisioning: `<workspace.path>/<agent_id>/` gets its starter files once.
 *
 * Contract: provisioning only ever creates what is missing. It never overwrites, deletes or
 * re-copies anything that exists, so a user's edits to AGENTS.md, SOUL.md, heartbeat.md or a
 * default skill survive every call (the reference re-copied default skills on every message,
 * clobbering edits). After a complete pass it writes `.tinyagi/provisioned` with
 * PROVISION_VERSION; while that marker matches, a call costs one small file read. Bumping the
 * version (new template files, new default skills) makes every workspace fill in what it lacks,
 * still without touching existing files.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { assertValidId } from '../ids.ts';
import { runtimeKinds } from '../kinds/runtimes/index.ts';
import { errnoCode } from './errno.ts';
import { requireAbsolute } from './paths.ts';
import { readTemplate, TEMPLATES_DIR, type TemplateName } from './templates.ts';

export const PROVISION_VERSION = 1;

/** Workspace-relative paths of the provisioned layout. */
export const WORKSPACE_PATHS = {
  agentsMd: 'AGENTS.md',
  soulMd: 'SOUL.md',
  heartbeatMd: 'heartbeat.md',
  memoryDir: 'memory',
  skillsDir: '.agents/skills',
  marker: '.tinyagi/provisioned',
} as const;

/** Where the reference kept SOUL.md; an existing one seeds ours so a migrated agent keeps its soul. */
const LEGACY_SOUL_MD = '.tinyagi/SOUL.md';

export interface ProvisionWorkspaceInput {
  /** Absolute path of the agent's workspace directory. */
  dir: string;
  agentId: string;
}

export interface ProvisionResult {
  dir: string;
  /** Workspace-relative paths created by this call (`.` when the directory itself was new). */
  created: string[];
  /** True when the marker matched and nothing was checked or created. */
  alreadyProvisioned: boolean;
}

export async function provisionWorkspace(input: ProvisionWorkspaceInput): Promise<ProvisionResult> {
  assertValidId(input.agentId, 'agent id');
  const dir = resolve(requireAbsolute(input.dir, 'Workspace directory'));
  if (await hasCurrentMarker(dir)) return { dir, created: [], alreadyProvisioned: true };

  const created: string[] = [];
  if ((await mkdir(dir, { recursive: true })) !== undefined) created.push('.');
  for (const sub of [WORKSPACE_PATHS.memoryDir, WORKSPACE_PATHS.skillsDir, '.tinyagi']) {
    if ((await mkdir(join(dir, sub), { recursive: true })) !== undefined) created.push(sub);
  }

  const files: Array<[string, TemplateName]> = [
    [WORKSPACE_PATHS.agentsMd, 'AGENTS.md'],
    [WORKSPACE_PATHS.heartbeatMd, 'heartbeat.md'],
  ];
  for (const [path, template] of files) {
    if (await createFileIfMissing(join(dir, path), await readTemplate(template))) created.push(path);
  }
  const soul = (await readIfExists(join(dir, LEGACY_SOUL_MD))) ?? (await readTemplate('SOUL.md'));
  if (await createFileIfMissing(join(dir, WORKSPACE_PATHS.soulMd), soul)) created.push(WORKSPACE_PATHS.soulMd);

  for (const skill of await defaultSkillNames()) {
    const path = `${WORKSPACE_PATHS.skillsDir}/${skill}`;
    if (await copySkillIfMissing(skill, join(dir, path))) created.push(path);
  }
  // Each CLI that looks for skills elsewhere (its runtime's `skillsFolder`) finds them through a link.
  for (const folder of new Set(runtimeKinds.list().flatMap((kind) => (kind.skillsFolder ? [kind.skillsFolder] : [])))) {
    if (await createSkillsLinkIfMissing(dir, folder)) created.push(folder);
  }

  await writeMarker(dir, input.agentId);
  return { dir, created, alreadyProvisioned: false };
}

async function hasCurrentMarker(dir: string): Promise<boolean> {
  const text = await readIfExists(join(dir, WORKSPACE_PATHS.marker));
  if (text === undefined) return false;
  try {
    const marker = JSON.parse(text) as { version?: unknown };
    return marker.version === PROVISION_VERSION;
  } catch {
    return false;
  }
}

async function writeMarker(dir: string, agentId: string): Promise<void> {
  const path = join(dir, WORKSPACE_PATHS.marker);
  const tmp = `${path}.${randomUUID()}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ version: PROVISION_VERSION, agentId })}\n`);
  await rename(tmp, path);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** `wx` makes "create only when missing" one atomic step, so concurrent callers cannot clobber. */
async function createFileIfMissing(path: string, content: string): Promise<boolean> {
  try {
    await writeFile(path, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
}

let skillNames: Promise<string[]> | undefined;

/** The default skills shipped in the package's templates (read once per process). */
function defaultSkillNames(): Promise<string[]> {
  skillNames ??= readdir(join(TEMPLATES_DIR, 'skills'), { withFileTypes: true }).then((entries) =>
    entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort(),
  );
  skillNames.catch(() => (skillNames = undefined));
  return skillNames;
}

/**
 * Copies a template directory (regular files and directories only) into a new directory.
 * `fs.cp` stats every ancestor of the destination and throws on each missing one, which made
 * it most of the cost of provisioning a workspace.
 */
async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) await copyTree(source, target);
    else if (entry.isFile()) await copyFile(source, target, constants.COPYFILE_EXCL);
  }
}

/**
 * Copies into a temporary sibling and renames it into place, so a crash mid-copy never leaves a
 * half-written skill that later calls would mistake for a user's (and therefore keep).
 */
async function copySkillIfMissing(skill: string, target: string): Promise<boolean> {
  if (await pathExists(target)) return false;
  const tmp = `${target}.${randomUUID()}.tmp`;
  await copyTree(join(TEMPLATES_DIR, 'skills', skill), tmp);
  try {
    await rename(tmp, target);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
    await rm(tmp, { recursive: true, force: true });
    return false;
  }
}

async function createSkillsLinkIfMissing(dir: string, folder: string): Promise<boolean> {
  const link = join(dir, folder);
  if (await pathExists(link)) return false;
  await mkdir(dirname(link), { recursive: true });
  try {
    await symlink(relative(dirname(link), join(dir, WORKSPACE_PATHS.skillsDir)), link, 'dir');
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
}

/** lstat, so a dangling symlink counts as present (it is the user's, not ours to replace). */
async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}
