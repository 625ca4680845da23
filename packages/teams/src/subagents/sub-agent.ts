/**
 * The library API for sub-agents: `subAgent(orchestrator, 'reviewer').invoke(task, { parent })`
 * runs another agent as a child of a running run and resolves with its answer (or an explicit
 * refusal); `SubAgentSession` keeps one child session, so every call continues the same
 * transcript (`subagent.reused` from the second call on).
 */
import { newId } from '@tinyagi/core';
import type { SpawnInput, SpawnResult } from './spawner.ts';

export interface Spawner {
  spawn(parentRunId: string, input: SpawnInput): Promise<SpawnResult>;
}

export interface SubAgentCallOptions {
  /** The run the child belongs to (the caller's own run). */
  parent: string;
  timeoutMs?: number;
}

export class SubAgent {
  readonly agentId: string;
  readonly #spawner: Spawner;

  constructor(spawner: Spawner, agentId: string) {
    this.#spawner = spawner;
    this.agentId = agentId;
  }

  invoke(task: string, options: SubAgentCallOptions): Promise<SpawnResult> {
    return this.#spawner.spawn(options.parent, { agent: this.agentId, task, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  }
}

export class SubAgentSession {
  readonly agentId: string;
  readonly key: string;
  readonly #spawner: Spawner;
  #calls = 0;

  constructor(spawner: Spawner, agentId: string, key: string = newId('session')) {
    this.#spawner = spawner;
    this.agentId = agentId;
    this.key = key;
  }

  /** Calls made through this object. */
  get calls(): number {
    return this.#calls;
  }

  async invoke(task: string, options: SubAgentCallOptions): Promise<SpawnResult> {
    this.#calls++;
    return this.#spawner.spawn(options.parent, {
      agent: this.agentId,
      task,
      session: this.key,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
  }
}

export function subAgent(spawner: Spawner, agentId: string): SubAgent {
  return new SubAgent(spawner, agentId);
}
