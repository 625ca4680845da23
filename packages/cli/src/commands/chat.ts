/**
 * `tinyagi chat [agent|team]`: a REPL. Each line is sent to the target; progress streams in
 * dim text while the agents work, replies print as they arrive. The session keeps one thread
 * key, so agents configured per-thread keep their context across turns.
 * In-chat commands: /agent <id>, /team <id>, /new (fresh thread), /help, /exit. Ctrl-C while a
 * reply is awaited stops waiting (the work goes on; the line says how to cancel it), at the
 * prompt it leaves. Piped, problems go to stderr and the exit code is 1 if any line failed.
 * An agent's approval requests and questions while a reply is awaited are asked on the chat's
 * own prompt line, as `send --wait` asks them (approval-prompt.ts); piped, a line says how to
 * answer them.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { errorMessage, isValidId } from '@tinyagi/core';
import { connect, localDaemonGone } from '../daemon/connection.ts';
import { outcomeLine } from '../conversation-watch.ts';
import { CliError } from '../output/cli-error.ts';
import { println } from '../output/print.ts';
import { errStyle, isInteractive, style } from '../output/style.ts';
import { createApprovalPrompter } from './approval-prompt.ts';
import { contextOf, parseId, parseSeconds } from './options.ts';
import { DEFAULT_WAIT_S, printReply, sendAndWait, type SendTarget } from './send.ts';

const COMMANDS = '/agent <id>, /team <id>, /new, /help, /exit';

/** A problem with one line: on stderr, so piped replies stay clean. */
function problem(text: string): void {
  process.stderr.write(`${text}\n`);
}

export function registerChatCommand(program: Command): void {
  program
    .command('chat')
    .description('interactive chat with an agent or team (streams progress; /exit to leave)')
    .argument('[target]', 'agent or team id (default: your default agent)', parseId)
    .option('--timeout <seconds>', `give up waiting for one reply after this long (default ${DEFAULT_WAIT_S})`, parseSeconds)
    .action(async (targetId: string | undefined, options: { timeout?: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const connection = connect(ctx);
      const { client } = connection;
      const teams = new Set((await client.listTeams()).map((t) => t.id));
      const targetOf = (id: string | undefined): SendTarget => (id === undefined ? {} : teams.has(id) ? { team: id } : { agent: id });
      let target = targetOf(targetId);
      let thread = `chat-${randomUUID().slice(0, 8)}`;
      const label = (): string => (target.team ? `#${target.team}` : target.agent ? `@${target.agent}` : 'default agent');
      const interactive = isInteractive();
      if (interactive) println(style.dim(`Chatting with ${label()}. ${COMMANDS}.`));
      let failures = 0;
      let waiting: AbortController | undefined;

      // The async iterator buffers lines, so piped input is never lost while a reply is awaited.
      // Loaded here: every other command (the daemon included) has no use for readline.
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
      rl.setPrompt(interactive ? style.bold('you › ') : '');
      const prompt = (): void => {
        if (interactive) rl.prompt();
      };
      // Without a listener readline would pause the input on Ctrl-C and the chat would hang.
      rl.on('SIGINT', () => {
        if (waiting) waiting.abort();
        else rl.close();
      });
      prompt();
      try {
        for await (const raw of rl) {
          const line = raw.trim();
          if (line === '/exit' || line === '/quit') break;
          if (line !== '') await handle(line);
          prompt();
        }
      } finally {
        rl.close();
      }
      if (!interactive && failures > 0) process.exitCode = 1;

      async function handle(line: string): Promise<void> {
        const switchTo = /^\/(agent|team)(?:\s+(\S+))?$/.exec(line);
        if (switchTo) {
          const kind = switchTo[1] === 'team' ? 'team' : 'agent';
          const id = switchTo[2] ?? '';
          if (!isValidId(id)) return fail(id === '' ? `Which ${kind}? /${kind} <id>` : `Invalid id "${id}".`);
          const known = kind === 'team' ? (await client.listTeams()).map((t) => t.id) : (await client.listAgents()).map((a) => a.id);
          if (!known.includes(id)) return fail(`No ${kind} "${id}". Known ${kind}s: ${known.join(', ') || 'none'}.`);
          target = kind === 'team' ? { team: id } : { agent: id };
          return println(style.dim(`Now talking to ${label()}.`));
        }
        if (line === '/new') {
          thread = `chat-${randomUUID().slice(0, 8)}`;
          return println(style.dim('Started a new thread.'));
        }
        if (line === '/help') return println(style.dim(`Commands: ${COMMANDS}. Anything else is sent to ${label()}.`));
        // `/word` alone or with arguments is a command; `/usr/bin is missing` is a message.
        const command = /^\/([A-Za-z-]+)(?:\s|$)/.exec(line);
        if (command) return fail(`Unknown command /${command[1]}. Commands: ${COMMANDS}.`);
        waiting = new AbortController();
        const approvals = createApprovalPrompter({ client, interactive, hints: true, ...(interactive ? { readline: rl } : {}) });
        try {
          const { sent, result } = await sendAndWait(
            client,
            line,
            { ...target, thread },
            {
              timeoutMs: (options.timeout ?? DEFAULT_WAIT_S) * 1000,
              onReply: printReply,
              onAnswer: (text) => println(style.dim(text)),
              signal: waiting.signal,
              daemonGone: () => localDaemonGone(ctx, connection),
              approvals,
            },
          );
          if (result === undefined) return println(style.dim(sent.reply ?? 'Nothing was sent to an agent.'));
          if (result.outcome !== 'completed') fail(`(${outcomeLine(result)})`, 'yellow');
        } catch (err) {
          if (err instanceof CliError && err.code === 'INTERRUPTED') problem(errStyle.yellow(`${err.message} ${err.hint ?? ''}`.trim()));
          else fail(errorMessage(err));
        } finally {
          approvals.close();
          waiting = undefined;
        }
      }

      function fail(text: string, tone: 'red' | 'yellow' = 'red'): void {
        failures++;
        problem(errStyle[tone](text));
      }
    });
}
