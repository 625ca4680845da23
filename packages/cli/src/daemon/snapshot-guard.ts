/**
 * Watches, while the daemon's start-up snapshot is built, for what must not be frozen into it
 * (snapshot-entry.ts says why). Imported first by the builder so that it watches the loading of
 * every other module. Records rather than throws: a module that kept a reference at load time
 * (`const { randomUUID } = require('node:crypto')`) must still work when the daemon runs.
 */
import crypto from 'node:crypto';
import { startupSnapshot } from 'node:v8';

const RANDOM = ['randomUUID', 'randomBytes', 'randomFillSync', 'randomFill', 'randomInt', 'getRandomValues'] as const;

function watchBuildTime(): string[] {
  const seen: string[] = [];
  const note = (what: string) => {
    const caller = new Error().stack?.split('\n')[3]?.trim() ?? 'unknown caller';
    // node's own code looks at the streams while it builds (closing handles): not a module's doing.
    if (!caller.includes('(node:')) seen.push(`${what} (${caller})`);
  };
  const target = crypto as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of RANDOM) {
    const original = target[name]!;
    target[name] = function (this: unknown, ...a: unknown[]) {
      if (startupSnapshot.isBuildingSnapshot()) note(`crypto.${name}()`);
      return original.apply(this, a);
    };
  }
  const web = globalThis.crypto as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['randomUUID', 'getRandomValues']) {
    const original = web[name]!.bind(web);
    web[name] = (...a: unknown[]) => {
      if (startupSnapshot.isBuildingSnapshot()) note(`crypto.${name}() (web)`);
      return original(...a);
    };
  }
  for (const name of ['stdin', 'stdout', 'stderr'] as const) {
    const desc = Object.getOwnPropertyDescriptor(process, name);
    if (!desc?.get || !desc.configurable) continue;
    const get = desc.get;
    Object.defineProperty(process, name, {
      ...desc,
      get() {
        if (startupSnapshot.isBuildingSnapshot()) note(`process.${name}`);
        return get.call(process);
      },
    });
  }
  return seen;
}

/** What loading the daemon used that a snapshot must not hold, with where; empty when not building. */
export const buildTimeUses: string[] = startupSnapshot.isBuildingSnapshot() ? watchBuildTime() : [];
