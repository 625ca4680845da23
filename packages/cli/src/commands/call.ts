/**
 * `tinyagi call <agent> "<task>"`: run another agent as a sub-agent of the current run, from
 * inside an agent's shell. Authenticates with the run-scoped token the daemon put in the
 * agent's environment; blocks; prints the child's reply on stdout. A warm agent process
 * (docs/sessions.md) outlives its runs, so its current run is in the file TINYAGI_RUN_FILE
 * names (the daemon rewrites it before each turn), which wins over the environment. The child
 * may work for longer than fetch waits for an answer (300 s): the call goes through `patientFetch`.
 */
import type { Command } from 'commander';
import { createApiClient } from '@tinyagi/client';
import { CliError, usageError } from '../output/cli-error.ts';
import { patientFetch } from '../patient-fetch.ts';
import { runScopeFrom } from '../run-scope.ts';
import { printJson, println } from '../output/print.ts';
import { parseId, withJson } from './options.ts';

export function registerCallCommand(program: Command): void {
  withJson(
    program
      .command('call')
      .description("run another agent as a sub-agent of the current run and print its reply (use inside an agent's shell)")
      .argument('<agent>', 'the agent to call', parseId)
      .argument('<task...>', 'what to ask it (words are joined)')
      .option('--session <key>', 'reuse the same sub-agent session across calls with this key'),
  ).action(async (agent: string, words: string[], options: { session?: string; json?: boolean }) => {
    const run = runScopeFrom(process.env);
    if (!run) {
      throw usageError(
        '`tinyagi call` only works inside an agent run: TINYAGI_API_URL, TINYAGI_RUN_ID and TINYAGI_RUN_TOKEN are not set.',
        'To talk to an agent yourself, use `tinyagi send --agent <id> --wait "<message>"`.',
      );
    }
    const task = words.join(' ').trim();
    if (task === '') throw usageError('The task is empty.');
    const client = createApiClient({ baseUrl: run.apiUrl, token: run.token, fetch: patientFetch });
    const result = await client.spawnRun({
      params: { id: run.runId },
      body: { agent, task, ...(options.session !== undefined ? { session: options.session } : {}) },
    });
    if (options.json) printJson(result);
    if (!result.ok) throw new CliError('REFUSED', `The call to ${agent} did not complete (${result.code}): ${result.message}`);
    if (!options.json) println(result.text);
  });
}
