/**
 * `tinyagi chatroom <team>`: a team's chat room. In a terminal, the interactive viewer
 * (@tinyagi/visualizer, loaded only here): history, live arrivals, a compose line. Piped, or with
 * --json/-n/--follow/--post: prints the latest messages; --follow keeps reading with the server's
 * cursor (each message exactly once); --post writes to it.
 */
import type { Command } from 'commander';
import type { ApiClient, ChatroomMessage } from '@tinyagi/client';
import { connect } from '../daemon/connection.ts';
import { formatTime, printJson, println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { loadVisualizer } from '../ui/load-visualizer.ts';
import { contextOf, parseId, parsePositiveInt, withJson } from './options.ts';

const FOLLOW_INTERVAL_MS = 1000;

function printMessage(m: ChatroomMessage, json: boolean): void {
  if (json) println(JSON.stringify(m));
  else println(`${style.dim(formatTime(m.createdAt))} ${style.bold(`@${m.fromAgent}`)}: ${m.content}`);
}

async function follow(client: ApiClient, team: string, cursor: number, json: boolean, signal: AbortSignal): Promise<void> {
  // Chat-room posts are also events: waking on them keeps latency low; the cursor keeps order
  // and exactly-once. One pending wake-up at a time; the interval covers a dropped stream.
  const events = client.subscribe({ types: ['chatroom.message'], signal })[Symbol.asyncIterator]();
  let wake = events.next();
  let next = cursor;
  while (!signal.aborted) {
    const page = await client.getChatroom({ params: { id: team }, query: { after: next, limit: 500 } });
    for (const m of page.messages) printMessage(m, json);
    next = page.nextCursor;
    if (page.messages.length === 500) continue;
    const woke = await Promise.race([wake.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), FOLLOW_INTERVAL_MS))]);
    if (woke) wake = events.next();
  }
}

export function registerChatroomCommand(program: Command): void {
  withJson(
    program
      .command('chatroom')
      .description("a team's chat room: the interactive viewer in a terminal; read, follow or post with the options")
      .argument('<team>', 'team id', parseId)
      .option('-n, --limit <n>', 'how many recent messages to show (default 50)', parsePositiveInt)
      .option('-f, --follow', 'keep printing new messages until Ctrl-C')
      .option('--post <message>', 'post a message to the room (as "user")'),
  ).action(async (team: string, options: { limit?: number; follow?: boolean; post?: string; json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const scripted = options.json || options.follow || options.post !== undefined || options.limit !== undefined;
    if (!scripted && process.stdout.isTTY === true && process.stdin.isTTY === true) {
      const { runChatRoom } = await loadVisualizer();
      return runChatRoom({ client, team });
    }
    if (options.post !== undefined) {
      await client.postChatroom({ params: { id: team }, body: { message: options.post } });
      if (!options.follow) return println(`Posted to #${team}.`);
    }
    const page = await client.getChatroom({ params: { id: team }, query: { limit: Math.min(options.limit ?? 50, 500) } });
    if (options.json && !options.follow) return printJson(page);
    for (const m of page.messages) printMessage(m, options.json === true);
    if (!options.follow) {
      if (page.messages.length === 0) println(style.dim(`#${team} has no messages yet.`));
      return;
    }
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    await follow(client, team, page.nextCursor, options.json === true, stop.signal).catch((err: unknown) => {
      if (!stop.signal.aborted) throw err;
    });
  });
}
