/**
 * What the workflow engine's tests share: an engine over a harness's orchestrator and stores
 * (sweeping every 100 ms, silent), a module written to the harness's folder, and a wait for a run
 * to reach a status.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowRunDetail } from '@tinyagi/client';
import { waitFor } from '@tinyagi/test-kit';
import { ConversationControl, Workflows, type WorkflowsOptions } from '../src/index.ts';
import type { Harness } from './helpers.ts';

export function workflowEngine(h: Harness, options: Partial<Pick<WorkflowsOptions, 'node' | 'leaseMs' | 'sweepMs'>> = {}): Workflows {
  const control = new ConversationControl(h.orchestrator);
  return new Workflows({
    stores: h.stores,
    orchestrator: h.orchestrator,
    cancelConversation: (id, reason) => control.cancelConversation(id, reason),
    settings: () => h.settings,
    log: { info: () => {}, warn: () => {} },
    sweepMs: 100,
    ...options,
  });
}

/** Writes `source` as `<name>.mjs` in the harness's folder; its path. */
export function writeProgram(h: Harness, name: string, source: string): string {
  const file = join(h.dir, `${name}.mjs`);
  writeFileSync(file, source);
  return file;
}

/** The run once its status is `status` (`ended`: anything but running). */
export function runReaching(w: Workflows, id: string, status = 'completed'): Promise<WorkflowRunDetail> {
  return waitFor(
    async () => {
      const d = await w.getRun(id);
      return (status === 'ended' ? d.run.status !== 'running' : d.run.status === status) ? d : undefined;
    },
    20_000,
    `workflow ${id} ${status}`,
  );
}
