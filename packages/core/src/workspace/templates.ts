import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CORE_ROOT } from '../package-root.ts';

/**
 * The built-in templates ship in `packages/core/templates/` (listed in package.json `files`).
 * (source, build and the CLI's bundle alike: see package-root.ts).
 */
export const TEMPLATES_DIR = join(CORE_ROOT, 'templates');

export type TemplateName = 'protocol.md' | 'AGENTS.md' | 'SOUL.md' | 'heartbeat.md';

const loaded = new Map<TemplateName, Promise<string>>();

/** Templates are part of the install, so each is read once per process. */
export function readTemplate(name: TemplateName): Promise<string> {
  let text = loaded.get(name);
  if (text === undefined) {
    text = readFile(join(TEMPLATES_DIR, name), 'utf8');
    // A failed read is not cached, so a later call can succeed.
    text.catch(() => loaded.delete(name));
    loaded.set(name, text);
  }
  return text;
}

/**
 * Replaces `{{key}}` with `values[key]` in one pass, so a value that itself contains `{{…}}`
 * (a user's agent name, a memory summary) is never expanded. Unknown keys are left as written.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{([a-z_]+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}
