/**
 * The daemon's session pool under settings (docs/sessions.md): the `sessions` block configures
 * it at start and on every change, an agent removed from settings (or switched to
 * `process: "per-message"`) has its warm processes closed, and stopping closes them all and
 * waits for their exits. Used by the daemon and by worker nodes (`tinyagi worker`).
 */
import { effectiveSessions } from '../../config/defaults.ts';
import type { Settings } from '../../config/schema.ts';
import { sessionPool, type SessionPool, type SessionPoolOptions } from './pool.ts';

export function sessionPoolOptions(settings: Settings): Partial<SessionPoolOptions> {
  const s = effectiveSessions(settings);
  return {
    maxTotal: s.max_total,
    maxPerAgent: s.max_per_agent,
    idleMs: s.idle_minutes * 60_000,
    memoryShare: s.memory_share,
    processMemoryMb: s.process_memory_mb,
  };
}

export interface SessionSettingsSource {
  get(): Settings;
  onChange(listener: (next: Settings, previous: Settings) => void): () => void;
}

/** Configures `pool` from `source` now and on every change; `stop` unsubscribes and closes every warm process. */
export function attachSessionPool(source: SessionSettingsSource, pool: SessionPool = sessionPool): { stop(): Promise<void> } {
  pool.configure(sessionPoolOptions(source.get()));
  const unsubscribe = source.onChange((next, previous) => {
    pool.configure(sessionPoolOptions(next));
    for (const id of Object.keys(previous.agents ?? {})) {
      const agent = Object.hasOwn(next.agents ?? {}, id) ? next.agents?.[id] : undefined;
      if (!agent) void pool.closeAgent(id, undefined, 'the agent was removed');
      else if (agent.process !== 'warm') void pool.closeAgent(id, undefined, 'the agent no longer runs warm');
    }
  });
  return {
    async stop() {
      unsubscribe();
      await pool.closeAll();
    },
  };
}
