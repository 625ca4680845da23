/** A project named on the command line: by id, prefix (WEB) or name, case-insensitive for the last two. */
import type { Project } from '@tinyagi/client';
import { usageError } from '../output/cli-error.ts';

export function resolveProject(projects: readonly Project[], ref: string): Project {
  const lower = ref.toLowerCase();
  const found = projects.find((p) => p.id === ref) ?? projects.find((p) => p.prefix.toLowerCase() === lower || p.name.toLowerCase() === lower);
  if (found) return found;
  throw usageError(`No project "${ref}". Projects: ${projects.map((p) => `${p.prefix} (${p.name})`).join(', ') || 'none'}.`);
}
