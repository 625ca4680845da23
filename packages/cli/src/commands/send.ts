/**
 * `tinyagi send <message…>`: all words are joined into one message. With --wait, progress is
 * streamed (stderr) and the final replies printed (stdout); the exit code says whether the
 * conversation completed.
 */
import type { Command } from 'commander';
import type { ApiClient, SendMessageResult } from '@tinyagi/client';
import { connect, localDaemonGone } from '../daemon/connection.ts';
import { createEventDescriber, outcomeLine, watchConversation, type Reply, type WatchResult } from '../conversation-watch.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { printJson, println } from '../output/print.ts';
import { errStyle, isInteractive, style } from '../output/style.ts';
import { createApprovalPrompter, type ApprovalPrompter } from './approval-prompt.ts';
import { contextOf, parseId, parseSeconds, withJson } from './options.ts';

export const DEFAULT_WAIT_S = 600;

export interface SendTarget {
  agent?: string;
  team?: string;
  thread?: string;
}

/** Replies come signed by their agent (team reply mode `each`) or already combined (`aggregate`). */
export function printReply(reply: Reply): void {
  println(reply.text.trimEnd());
  println();
}

export function messageBody(message: string, target: SendTarget) {
  return {
    message,
    channel: 'cli',
    sender: 'cli',
    senderId: 'cli',
    ...(target.agent !== undefined ? { agent: target.agent } : {}),
    ...(target.team !== undefined ? { team: target.team } : {}),
    ...(target.thread !== undefined ? { threadKey: target.thread } : {}),
  };
}

/** Who received the message, as the user would address it: `@coder`, or `#dev (led by @coder)`. */
export function targetLabel(sent: Pick<SendMessageResult, 'agentId' | 'teamId' | 'addressed'>): string {
  return sent.addressed === 'team' && sent.teamId !== null ? `#${sent.teamId} (led by @${sent.agentId})` : `@${sent.agentId}`;
}

/** True when the message started (or repeated) work; false for a default-target switch or a limit-prompt answer. */
export function startedWork(sent: SendMessageResult): boolean {
  return sent.action === 'enqueued' || sent.action === 'duplicate';
}

/** A `continue` that answered a guard's prompt: the held work goes on in that conversation. */
function resumedWork(sent: SendMessageResult): boolean {
  return sent.action === 'answered' && sent.decision === 'continue';
}

/**
 * Sends one message and follows it to the end. Used by `send --wait` and `chat`. A message that
 * only changed the sender's default target (a bare `@coder`) or answered a guard with `stop` has
 * nothing to follow: `result` is then undefined and `sent.reply` says what changed. A `continue`
 * follows the conversation it resumed, after `onAnswer` has been given the daemon's answer.
 */
export async function sendAndWait(
  client: ApiClient,
  message: string,
  target: SendTarget,
  options: {
    timeoutMs: number;
    quiet?: boolean;
    /** Each event of the conversation as one JSON line on stderr (`send --wait --json`) instead of the progress lines. */
    jsonEvents?: boolean;
    onReply?: (r: Reply) => void;
    onAnswer?: (text: string) => void;
    signal?: AbortSignal;
    daemonGone?: () => boolean;
    /** The conversation's approval requests: asked at the terminal, or how to answer them said (approval-prompt.ts). */
    approvals?: ApprovalPrompter;
  },
): Promise<{ sent: SendMessageResult; result: WatchResult | undefined }> {
  const before = (await client.status()).lastEventId;
  const sent = await client.sendMessage({ body: messageBody(message, target) });
  const resumed = resumedWork(sent);
  if (!startedWork(sent) && !resumed) return { sent, result: undefined };
  if (resumed && sent.reply) options.onAnswer?.(sent.reply);
  const describe = createEventDescriber();
  // Above an open approval prompt, which stays usable, when there is one.
  const say = (line: string): void => (options.approvals ? options.approvals.print(line) : void process.stderr.write(`${line}\n`));
  const result = await watchConversation(client, {
    conversationId: sent.conversationId,
    afterEventId: before,
    timeoutMs: options.timeoutMs,
    onEvent: (event) => {
      // A request waits for a person even in a quiet wait: it is asked (or said) regardless.
      options.approvals?.onEvent(event);
      if (options.quiet) return;
      if (options.jsonEvents) {
        process.stderr.write(`${JSON.stringify(event)}\n`);
        return;
      }
      const line = describe(event);
      if (line !== undefined) say(errStyle.dim(line));
    },
    ...(options.onReply ? { onReply: options.onReply } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.daemonGone ? { daemonGone: options.daemonGone } : {}),
    onConnection: (change) => {
      if (options.quiet || options.jsonEvents) return;
      say(errStyle.yellow(change === 'lost' ? 'Lost the connection to the daemon; waiting for it to come back…' : 'Connected to the daemon again.'));
    },
  });
  return { sent, result };
}

interface SendOptions {
  agent?: string;
  team?: string;
  thread?: string;
  wait?: boolean;
  timeout?: number;
  json?: boolean;
  quiet?: boolean;
}

export function registerSendCommand(program: Command): void {
  withJson(
    program
      .command('send')
      .description('send a message to an agent or team (words are joined; `@agent …` or `@team …` prefixes work too)')
      .argument('<message...>', 'the message')
      .option('-a, --agent <id>', 'send to this agent', parseId)
      .option('-t, --team <id>', "send to this team (its leader receives it, with the team's context)", parseId)
      .option('--thread <key>', 'conversation thread key (agents keep a session per thread when configured so)')
      .option('-w, --wait', 'wait for the conversation to finish, streaming progress, and print the replies')
      .option('--timeout <seconds>', `with --wait: give up after this long (default ${DEFAULT_WAIT_S})`, parseSeconds)
      .option('-q, --quiet', 'with --wait: no progress lines (with --json: no event lines)'),
  ).action(async (words: string[], options: SendOptions, cmd: Command) => {
    if (options.agent !== undefined && options.team !== undefined) throw usageError('Use either --agent or --team, not both.');
    const message = words.join(' ').trim();
    if (message === '') throw usageError('The message is empty.');
    const ctx = contextOf(cmd);
    const connection = connect(ctx);
    const { client } = connection;
    const target: SendTarget = {
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
      ...(options.team !== undefined ? { team: options.team } : {}),
      ...(options.thread !== undefined ? { thread: options.thread } : {}),
    };
    if (!options.wait) {
      const sent = await client.sendMessage({ body: messageBody(message, target) });
      if (options.json) return printJson(sent);
      if (!startedWork(sent)) return println(sent.reply ?? 'Nothing was sent to an agent.');
      println(`Sent to ${targetLabel(sent)} (message ${sent.messageId}, conversation ${sent.conversationId}).`);
      println(style.dim(`Follow it with: tinyagi conversation show ${sent.conversationId}`));
      return;
    }
    // On a terminal (and not --json) the conversation's approval requests are asked here; else one
    // line each says how to answer them (--json: its event lines carry them).
    const approvals = createApprovalPrompter({ client, interactive: isInteractive() && options.json !== true, hints: options.json !== true });
    const { sent, result } = await sendAndWait(client, message, target, {
      timeoutMs: (options.timeout ?? DEFAULT_WAIT_S) * 1000,
      quiet: options.quiet === true,
      jsonEvents: options.json === true,
      daemonGone: () => localDaemonGone(ctx, connection),
      approvals,
      ...(options.json ? {} : { onReply: printReply, onAnswer: println }),
    }).finally(() => approvals.close());
    if (result === undefined) {
      if (options.json) return printJson({ ...sent, outcome: null, reason: null, replies: [] });
      return println(sent.reply ?? 'Nothing was sent to an agent.');
    }
    if (options.json) printJson({ ...sent, outcome: result.outcome, reason: result.reason ?? null, replies: result.replies });
    if (result.outcome !== 'completed') throw new CliError('FAILED', outcomeLine(result), { hint: `Details: tinyagi conversation show ${result.conversationId}` });
  });
}
