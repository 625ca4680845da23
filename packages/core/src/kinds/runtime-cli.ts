/**
 * Whether a runtime's CLI is installed on this machine: the executable its descriptor names
 * (`command`), looked up on the daemon's PATH. `GET /api/kinds`, `agent add`, `POST /api/agents`
 * and doctor all ask here, so they agree.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { RuntimeKind } from '@tinyagi/client/contract';

type EnvLike = Readonly<Record<string, string | undefined>>;

/** The first executable file named `command` on the PATH of `env`, if any. */
export function findOnPath(command: string, env: EnvLike = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A CLI runtime's command and whether it is installed (`path`: where); undefined for a runtime that runs no CLI. */
export interface RuntimeCliPresence {
  command: string;
  installed: boolean;
  path?: string;
}

export function runtimeCliPresence(kind: Pick<RuntimeKind, 'command'> | undefined, env: EnvLike = process.env): RuntimeCliPresence | undefined {
  if (kind?.command === null || kind?.command === undefined) return undefined;
  const path = findOnPath(kind.command, env);
  return path === undefined ? { command: kind.command, installed: false } : { command: kind.command, installed: true, path };
}
