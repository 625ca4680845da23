/**
 * `tinyagi cancel <msg_…|conv_…|run_…>`: stops a message (queued, waiting on a rate limit, or
 * running), a whole conversation, or a run with its descendants. Running agent processes are
 * killed; the command returns once they have ended.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { connect } from '../daemon/connection.ts';
import { CliError } from '../output/cli-error.ts';
import { printJson, println } from '../output/print.ts';
import { contextOf, withJson } from './options.ts';

const KINDS = { msg: 'message', conv: 'conversation', run: 'run' } as const;
type Kind = keyof typeof KINDS;

function parseTarget(value: string): { kind: Kind; id: string } {
  const match = /^(msg|conv|run)_[a-z0-9]{1,64}$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected a message (msg_…), conversation (conv_…) or run (run_…) id.');
  return { kind: match[1] as Kind, id: value };
}

export function registerCancelCommand(program: Command): void {
  withJson(
    program
      .command('cancel')
      .description('cancel a message (queued, waiting on a rate limit or running), a conversation or a run; running agents are stopped')
      .argument('<id>', 'msg_…, conv_… or run_… (see `tinyagi queue status` and `tinyagi conversation list`)', parseTarget),
  ).action(async (target: { kind: Kind; id: string }, options: { json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const { id } = target;
    if (target.kind === 'msg') {
      const outcome = await client.cancelMessage({ params: { id } });
      if (options.json) return printJson(outcome);
      if (outcome.state === 'not_cancellable') {
        throw new CliError('REFUSED', `The message ${id} has already ended (${outcome.status}); there is nothing to cancel.`);
      }
      if (outcome.state === 'cancelling') return println(`Asked the worker running ${id} to stop; it stops within a few seconds.`);
      return println(`Cancelled message ${id}.`);
    }
    if (target.kind === 'conv') {
      const result = await client.cancelConversation({ params: { id } });
      if (options.json) return printJson(result);
      if (result.alreadyEnded) {
        throw new CliError('REFUSED', `The conversation ${id} has already ended (${result.status}); there is nothing to cancel.`);
      }
      return println(`Cancelled conversation ${id}${result.cancelled.length > 0 ? ` (${result.cancelled.length} run${result.cancelled.length === 1 ? '' : 's'} stopped)` : ''}.`);
    }
    const result = await client.cancelRun({ params: { id } });
    if (options.json) return printJson(result);
    println(`Run ${id} is ${result.status}.`);
  });
}
