/**
 * What removing an agent does to its workspace (DELETE /api/agents/:id, `tinyagi agent remove`):
 * by default the directory is archived (moved to `<workspace.path>/.archive/<id>-<time>`), so an
 * agent re-added with the same id starts clean and nothing is lost; `delete` removes it for
 * good; `keep` leaves it in place.
 *
 * Safety rules (checked by `planWorkspaceRemoval` before the settings change, so a refusal
 * changes nothing):
 * - Only a directory strictly inside the workspace root and used by no other agent is archived
 *   or deleted. A custom working_directory elsewhere (often the user's own project) or a shared
 *   one is kept; `delete` is then refused with INVALID_STATE.
 * - `delete` also needs the provisioning marker (core's removeWorkspace refuses without it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { deleteAgent } from '../config/editing/agents.ts';
import { agentWorkspaceDir, workspaceRoot, type Env } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { TinyError, errorMessage } from '../errors.ts';
import { archiveWorkspace, removeWorkspace } from './archive.ts';
import { isInside } from './paths.ts';
import { WORKSPACE_PATHS } from './provision.ts';

/** archive (default), delete for good, or keep. */
export type WorkspaceRemovalMode = 'archive' | 'delete' | 'keep';

export interface WorkspaceOutcome {
  /** `absent`: there was no directory; `kept` with a reason: archiving was not safe or failed. */
  action: 'archived' | 'deleted' | 'kept' | 'absent';
  /** The workspace directory. */
  path: string;
  /** Where it was moved (archived only). */
  archivedTo?: string;
  reason?: string;
}

/** Archives go here, inside the workspace root (an agent id never starts with a dot). */
export const WORKSPACE_ARCHIVE_DIR = '.archive';

export interface WorkspaceRemovalPlan {
  agentId: string;
  /** What will be done; `keep` also when archiving would not be safe. */
  mode: WorkspaceRemovalMode;
  dir: string;
  archiveRoot: string;
  /** Why the workspace is kept although archiving was asked for. */
  reason?: string;
}

/** Strictly below `parent` (not the directory itself). */
function inside(child: string, parent: string): boolean {
  return child !== parent && isInside(child, parent);
}

function overlaps(a: string, b: string): boolean {
  return a === b || inside(a, b) || inside(b, a);
}

/** Decides what removing agent `id` (still in `settings`) does to its workspace. Throws for an unsafe `delete`. */
export function planWorkspaceRemoval(settings: Settings, id: string, mode: WorkspaceRemovalMode, env: Env): WorkspaceRemovalPlan {
  const dir = agentWorkspaceDir(settings, id, env);
  const root = workspaceRoot(settings, env);
  const archiveRoot = join(root, WORKSPACE_ARCHIVE_DIR);
  if (mode === 'keep') return { agentId: id, mode, dir, archiveRoot };

  let unsafe: string | undefined;
  if (!inside(dir, root)) {
    unsafe = `it is outside the workspace root ${root} (a custom working_directory)`;
  } else {
    const sharer = Object.keys(settings.agents ?? {}).find((other) => {
      if (other === id) return false;
      try {
        return overlaps(agentWorkspaceDir(settings, other, env), dir);
      } catch {
        return false;
      }
    });
    if (sharer !== undefined) unsafe = `agent "${sharer}" uses it too`;
  }

  if (mode === 'delete') {
    const refuse = (why: string): TinyError =>
      new TinyError('INVALID_STATE', `Not deleting the workspace ${dir}: ${why}.`, {
        hint: 'Remove the agent and keep its workspace (?workspace=keep, or `tinyagi agent remove --keep-workspace`), then delete the directory by hand if you mean to.',
        details: { dir },
      });
    if (unsafe !== undefined) throw refuse(unsafe);
    if (existsSync(dir) && !existsSync(join(dir, WORKSPACE_PATHS.marker))) throw refuse(`it was not provisioned by TinyAGI (no ${WORKSPACE_PATHS.marker})`);
    return { agentId: id, mode, dir, archiveRoot };
  }
  return unsafe === undefined ? { agentId: id, mode, dir, archiveRoot } : { agentId: id, mode: 'keep', dir, archiveRoot, reason: `not archived: ${unsafe}` };
}

/**
 * Carries out a plan once the agent is gone from settings. Never throws: a failure leaves the
 * directory where it is and says why (the agent is already removed at this point).
 */
export async function applyWorkspaceRemoval(plan: WorkspaceRemovalPlan): Promise<WorkspaceOutcome> {
  const { dir } = plan;
  if (!existsSync(dir)) return { action: 'absent', path: dir };
  if (plan.mode === 'keep') return { action: 'kept', path: dir, ...(plan.reason !== undefined ? { reason: plan.reason } : {}) };
  try {
    if (plan.mode === 'delete') {
      await removeWorkspace({ dir, purge: true });
      return { action: 'deleted', path: dir };
    }
    const { archivedTo } = await archiveWorkspace({ dir, archiveRoot: plan.archiveRoot, agentId: plan.agentId });
    return { action: 'archived', path: dir, archivedTo };
  } catch (err) {
    return { action: 'kept', path: dir, reason: `${plan.mode === 'delete' ? 'deleting' : 'archiving'} failed: ${errorMessage(err)}` };
  }
}

/**
 * Deletes agent `id` (core's deleteAgent: refused while a team lists it) with `update` — a locked
 * read-modify-write of the settings — then archives, deletes or keeps its workspace. The removal
 * is planned under the lock, before the write, so an unsafe `delete` changes nothing.
 */
export async function removeAgent(update: (mutate: (current: Settings) => Settings) => Promise<unknown>, id: string, mode: WorkspaceRemovalMode, env: Env): Promise<WorkspaceOutcome> {
  let plan: WorkspaceRemovalPlan | undefined;
  await update((current) => {
    const next = deleteAgent(current, id);
    plan = planWorkspaceRemoval(current, id, mode, env);
    return next;
  });
  if (plan === undefined) throw new TinyError('INTERNAL', 'The workspace removal was not planned.');
  return applyWorkspaceRemoval(plan);
}
