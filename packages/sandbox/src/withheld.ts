/**
 * The last check of what enters an agent's sandbox (docs/sandbox.md#the-model-proxy): whatever
 * composed a CLI's start (a runtime, a user's config, an agent's env_passthrough), no value the
 * daemon withholds (its providers' keys and tokens, `SandboxSpec.withheld`) reaches the inside.
 * A variable that holds one is left out of the environment; an argument or one of the invoker's
 * private files bound in that holds one refuses the start (nothing can be left out of those).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxRefusal } from './refusal.ts';

/** Shorter values are not looked for: no real credential is this short, and a short one would match everywhere. */
export const MIN_WITHHELD_LENGTH = 8;
/** Private files larger than this are not the invoker's small config files; they are read no further. */
const MAX_FILE_BYTES = 1024 * 1024;

function holdsOne(text: string, withheld: readonly string[]): boolean {
  return withheld.some((value) => text.includes(value));
}

/** The values worth looking for. */
export function withheldValues(values: readonly string[] | undefined): string[] {
  return [...new Set((values ?? []).filter((value) => value.length >= MIN_WITHHELD_LENGTH))];
}

/** `env` without the variables whose value holds a withheld value. */
export function scrubEnv(env: Record<string, string>, withheld: readonly string[]): Record<string, string> {
  return withheld.length === 0 ? env : Object.fromEntries(Object.entries(env).filter(([, value]) => !holdsOne(value, withheld)));
}

/** The files of `paths` (a folder's files, one level down), for the content check. */
function filesOf(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat?.isFile()) return [path];
  if (!stat?.isDirectory()) return [];
  return readdirSync(path).map((name) => join(path, name));
}

/** Refuses a start whose arguments or bound private files hold a withheld value (naming where, never the value). */
export function assertNothingWithheld(agentId: string, args: readonly string[], files: readonly string[], withheld: readonly string[]): void {
  if (withheld.length === 0) return;
  const refuse = (where: string): never => {
    throw new SandboxRefusal(`Agent ${agentId}: ${where} holds one of the daemon's provider keys, which never enter the sandbox; the CLI was not started.`, {
      hint: "Give the agent its key through the model proxy (docs/sandbox.md#the-model-proxy), not in its arguments or its CLI's config.",
    });
  };
  if (args.some((arg) => holdsOne(arg, withheld))) refuse("the CLI's command line");
  for (const file of files.flatMap(filesOf)) {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size > MAX_FILE_BYTES) continue;
    if (holdsOne(readFileSync(file, 'utf8'), withheld)) refuse(`the file ${file} given to the CLI`);
  }
}
