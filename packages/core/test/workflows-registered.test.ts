/** Registered workflows as the API lists them: each `file` resolved (relative from TINYAGI_HOME/workflows/, `~` from the home), whether it is there. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { registeredWorkflow, registeredWorkflows } from '../src/workflows/index.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('resolves each registered module, says whether it exists, and keeps the description, input schema and agents', () => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-registered-'));
  const home = join(dir, 'home');
  mkdirSync(join(home, 'workflows', 'team'), { recursive: true });
  writeFileSync(join(home, 'workflows', 'team', 'review.ts'), 'export default async () => 1;');
  const input = { type: 'object' };
  const settings = {
    workflows: {
      review: { file: 'team/review.ts', description: 'Review files', input, agents: ['coder'] },
      nightly: { file: '/nowhere/nightly.mjs' },
      mine: { file: '~/flows/mine.js' },
    },
  };
  const env = { HOME: join(dir, 'user') };
  expect(registeredWorkflows(settings, home, env)).toEqual([
    { name: 'mine', description: null, file: join(dir, 'user', 'flows', 'mine.js'), fileExists: false, input: null, agents: [] },
    { name: 'nightly', description: null, file: '/nowhere/nightly.mjs', fileExists: false, input: null, agents: [] },
    { name: 'review', description: 'Review files', file: join(home, 'workflows', 'team', 'review.ts'), fileExists: true, input, agents: ['coder'] },
  ]);
  expect(registeredWorkflow(settings, home, 'constructor', env)).toBeUndefined();
  expect(registeredWorkflow({}, home, 'review', env)).toBeUndefined();
});
