/**
 * The chat-room viewer: the room's messages (in id order, each once), a compose line, and the
 * connection state. Typing edits the compose line, Enter posts it, PgUp/PgDn (or ↑/↓) scroll,
 * Esc (or q on an empty line, or Ctrl-C) quits.
 */
import { createElement as h, Fragment, useSyncExternalStore, type ReactElement } from 'react';
import { useApp, useInput, useStdin } from 'ink';
import type { ChatAction, ChatState } from './chat-state.ts';
import type { Line, Segment } from './layout.ts';
import { paintLines } from './paint.ts';
import { useTerminalSize } from './terminal-size.ts';
import type { Store } from './store.ts';

export type ChatStore = Store<ChatState, ChatAction>;

export interface ChatRoomProps {
  store: ChatStore;
  /** Posts the text; resolves when the server accepted it. */
  post?: (text: string) => Promise<void>;
  width?: number;
  height?: number;
  color?: boolean;
  onQuit?: () => void;
}

const clock = (ts: number): string => new Date(ts).toTimeString().slice(0, 8);

/** Splits text into pieces of at most `width` characters (at least 1). */
function chunk(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const para of text.split('\n')) {
    if (para.length === 0) out.push('');
    for (let i = 0; i < para.length; i += w) out.push(para.slice(i, i + w));
  }
  return out;
}

export function chatLayout(state: ChatState, width: number, height: number): Line[] {
  const c = state.connection;
  const conn: Segment =
    c.state === 'open'
      ? { text: '● live', color: 'green' }
      : c.state === 'reconnecting'
        ? { text: `⟳ reconnecting (try ${c.attempt})`, color: 'yellow', bold: true }
        : c.state === 'connecting'
          ? { text: '○ connecting…', color: 'yellow' }
          : { text: `✗ disconnected${c.error ? `: ${c.error}` : ''}`, color: 'red', bold: true };
  const head: Line = [{ text: `#${state.team}`, bold: true, color: 'cyan' }, { text: ' chat room  ' }, conn];
  if (width >= 60) head.push({ text: '  Enter send · PgUp/PgDn scroll · Esc quit', dim: true });
  const body: Line[] = [];
  const narrow = width < 60;
  for (const m of state.messages) {
    const prefix = `${narrow ? '' : `${clock(m.createdAt)} `}@${m.fromAgent}: `;
    const pieces = chunk(m.content, width - prefix.length);
    pieces.forEach((piece, i) => {
      body.push(
        i === 0
          ? [{ text: narrow ? '' : `${clock(m.createdAt)} `, dim: true }, { text: `@${m.fromAgent}`, bold: true, color: m.fromAgent === 'user' ? 'green' : 'cyan' }, { text: `: ${piece}` }]
          : [{ text: ' '.repeat(prefix.length) + piece }],
      );
    });
  }
  const rows = Math.max(1, height - 3 - (state.notice ? 1 : 0));
  const end = Math.max(0, body.length - state.scroll);
  const window = body.slice(Math.max(0, end - rows), end);
  if (body.length === 0) window.push([{ text: state.loaded ? 'No messages yet. Type below and press Enter.' : 'Loading…', dim: true }]);
  while (window.length < rows) window.unshift([]);
  const lines: Line[] = [head, ...window];
  if (state.notice) lines.push([{ text: state.notice.text, color: state.notice.level === 'error' ? 'red' : 'green' }]);
  lines.push([{ text: state.scroll > 0 ? `── ${state.scroll} lines below (PgDn) ` : '─'.repeat(Math.min(width, 40)), dim: true }]);
  lines.push([{ text: '> ', bold: true, color: 'cyan' }, { text: state.input }, { text: '▌', dim: true }]);
  return lines;
}

/** Bracketed paste's start and end markers (ESC [200~ … ESC [201~), with or without the ESC Ink may have taken. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the markers start with ESC, which is what is matched
const PASTE_MARKERS = /\u001b?\[20[01]~/g;

function ChatKeys({ store, post, onQuit }: Pick<ChatRoomProps, 'store' | 'post' | 'onQuit'>): null {
  const { exit } = useApp();
  const quit = (): void => {
    onQuit?.();
    exit();
  };
  const send = (value: string): void => {
    const text = value.trim();
    if (!text || !post) return;
    store.dispatch({ type: 'input', value: '' });
    post(text).then(
      () => undefined,
      (err: unknown) => {
        store.dispatch({ type: 'input', value: text });
        store.dispatch({ type: 'notice', text: `Not sent: ${err instanceof Error ? err.message : String(err)}`, level: 'error' });
      },
    );
  };
  useInput((input, key) => {
    const state = store.getState();
    if (key.escape || (key.ctrl && input === 'c')) return quit();
    if (key.pageUp || key.upArrow) return store.dispatch({ type: 'scroll', by: key.pageUp ? 10 : 1 });
    if (key.pageDown || key.downArrow) return store.dispatch({ type: 'scroll', by: key.pageDown ? -10 : -1 });
    if (key.return) return send(state.input);
    if (key.backspace || key.delete) return store.dispatch({ type: 'input', value: state.input.slice(0, -1) });
    if (input === 'q' && state.input === '') return quit();
    if (!input || key.ctrl || key.meta) return;
    // A paste arrives as one chunk (with the terminal's bracketed-paste markers when it uses
    // them), and Enter typed right after it in the same chunk: a line break ends the message.
    const text = input.replace(PASTE_MARKERS, '');
    const end = Math.max(text.lastIndexOf('\r'), text.lastIndexOf('\n'));
    if (end < 0) return store.dispatch({ type: 'input', value: state.input + text });
    send(state.input + text.slice(0, end).replace(/\r\n|[\r\n]/g, ' '));
    const rest = text.slice(end + 1);
    if (rest) store.dispatch({ type: 'input', value: store.getState().input + rest });
  });
  return null;
}

export function ChatRoom(props: ChatRoomProps): ReactElement {
  const state = useSyncExternalStore(props.store.subscribe, props.store.getState);
  const size = useTerminalSize(props.width, props.height);
  const { isRawModeSupported } = useStdin();
  const { width } = size;
  const screen = paintLines(chatLayout(state, width, size.height), props.color ?? true, width);
  if (!isRawModeSupported) return screen;
  return h(Fragment, null, screen, h(ChatKeys, { store: props.store, ...(props.post ? { post: props.post } : {}), ...(props.onQuit ? { onQuit: props.onQuit } : {}) }));
}
