/**
 * `@tinyagi/visualizer`: TinyAGI's terminal UIs (Ink), talking to the daemon only through
 * `@tinyagi/client`:
 * - `runVisualizer`: the live dashboard (agents, handoffs, run tree, queue, channels, activity,
 *   approvals, workflow runs);
 * - `runChatRoom`: a team's chat room with a compose line.
 * The pieces (reducers, stores, layouts, components) are exported for embedding and tests.
 */
import { createElement as h } from 'react';
import { render } from 'ink';
import { createApiClient, type ApiClient } from '@tinyagi/client';
import { ChatRoom } from './chat-room.ts';
import { initialChatState, reduceChat } from './chat-state.ts';
import { Dashboard } from './dashboard.ts';
import { colorEnabled } from './paint.ts';
import { startChatSource, startDashboardSource } from './sources.ts';
import { initialState, reduce } from './state.ts';
import { createStore, DEFAULT_FPS } from './store.ts';

export { Dashboard, type DashboardActions, type DashboardProps, type DashboardStore } from './dashboard.ts';
export { ChatRoom, chatLayout, type ChatRoomProps, type ChatStore } from './chat-room.ts';
export { initialState, reduce, LIMITS, runTree, selectedConversation, selectedRun, visibleAgents, type Action, type DashboardState } from './state.ts';
export { selectedWorkflowRun, stepCounts, WORKFLOW_LIMITS, type WorkflowRunRow, type WorkflowsState } from './workflow-runs.ts';
export { initialChatState, reduceChat, mergeMessages, CHAT_LIMIT, type ChatAction, type ChatState } from './chat-state.ts';
export { createStore, DEFAULT_FPS, type Store } from './store.ts';
export { layout, NARROW, type Line, type Segment } from './layout.ts';
export { startDashboardSource, startChatSource, RECONNECT } from './sources.ts';
export { colorEnabled } from './paint.ts';

export interface RunOptions {
  /** The daemon's URL and token, or an existing `client`. */
  baseUrl?: string;
  token?: string;
  client?: ApiClient;
  /** Streams to draw on and read keys from (default: the process's). */
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Frames per second at most (default 10). */
  fps?: number;
  /** Paint colour (default: unless NO_COLOR is set). */
  color?: boolean;
  /** Called after each frame Ink writes (benchmarks count them). */
  onFrame?: () => void;
}

export class NotATerminalError extends Error {
  readonly code = 'NOT_A_TERMINAL';
}

function needTerminal(what: string, options: RunOptions): void {
  // Custom streams: the embedder knows what it draws on (tests, benchmarks).
  if (options.stdout) return;
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new NotATerminalError(
      `${what} needs an interactive terminal (a TTY on stdin and stdout); this one is not. Run it in a terminal, or use the text commands instead (\`tinyagi visualize --json\`, \`tinyagi conversation watch\`, \`tinyagi chatroom <team> --follow\`).`,
    );
  }
}

function clientOf(options: RunOptions): ApiClient {
  if (options.client) return options.client;
  if (!options.baseUrl) throw new TypeError('runVisualizer/runChatRoom need a baseUrl or a client.');
  return createApiClient({ baseUrl: options.baseUrl, clientName: 'the TUI', ...(options.token ? { token: options.token } : {}) });
}

async function mount(element: Parameters<typeof render>[0], options: RunOptions, fps: number): Promise<void> {
  const instance = render(element, {
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.stdin ? { stdin: options.stdin } : {}),
    exitOnCtrlC: true,
    patchConsole: false,
    // The store already paces frames; Ink's own cap stays above it so the two do not beat.
    maxFps: fps * 2,
    // The main screen comes back untouched on exit (q, Esc, Ctrl-C).
    alternateScreen: options.stdout === undefined || options.stdout.isTTY === true,
    // A person at a terminal, even when CI is set in the environment: Ink would otherwise
    // (is-in-ci) draw nothing until exit.
    ...(options.stdout === undefined || options.stdout.isTTY === true ? { interactive: true } : {}),
    ...(options.onFrame ? { onRender: () => options.onFrame!() } : {}),
  });
  await instance.waitUntilExit();
}

/** The live dashboard; resolves when the user quits. Throws NotATerminalError without a TTY. */
export async function runVisualizer(options: RunOptions & { team?: string }): Promise<void> {
  needTerminal('The dashboard', options);
  const fps = options.fps ?? DEFAULT_FPS;
  const client = clientOf(options);
  const store = createStore(reduce, initialState(options.team ?? null), fps);
  const source = startDashboardSource(client, store);
  try {
    await mount(h(Dashboard, { store, actions: source.actions, color: options.color ?? colorEnabled() }), options, fps);
  } finally {
    source.close();
    store.close();
  }
}

/** A team's chat room; resolves when the user quits. Throws NotATerminalError without a TTY. */
export async function runChatRoom(options: RunOptions & { team: string }): Promise<void> {
  needTerminal('The chat room', options);
  const fps = options.fps ?? DEFAULT_FPS;
  const client = clientOf(options);
  const store = createStore(reduceChat, initialChatState(options.team), fps);
  const source = startChatSource(client, store);
  try {
    await mount(h(ChatRoom, { store, post: source.post, color: options.color ?? colorEnabled() }), options, fps);
  } finally {
    source.close();
    store.close();
  }
}
