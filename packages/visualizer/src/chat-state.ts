/**
 * The chat-room viewer's state and pure reducer. Messages are keyed by their id (the server's
 * cursor), so a message that arrives twice (from the stream after a reconnect and from a
 * catch-up page, or replayed) is shown once, and the list is always in id order. The cursor
 * only moves forward, from the pages the server returns, so catching up never skips a message.
 */
import type { ChatroomMessage, ConnectionInfo, ConnectionState } from '@tinyagi/client';

/** Messages kept in memory (the oldest are dropped first). */
export const CHAT_LIMIT = 1000;

export interface ChatState {
  team: string;
  messages: ChatroomMessage[];
  /** The id after which the next catch-up page starts (from the server's nextCursor). */
  cursor: number;
  /** Lines scrolled up from the bottom (0: follow new messages). */
  scroll: number;
  input: string;
  connection: { state: ConnectionState; attempt: number; error?: string };
  loaded: boolean;
  notice?: { text: string; level: 'info' | 'error' };
}

export type ChatAction =
  | { type: 'page'; messages: ChatroomMessage[]; nextCursor: number }
  | { type: 'arrived'; message: ChatroomMessage }
  | { type: 'connection'; state: ConnectionState; info: ConnectionInfo }
  | { type: 'input'; value: string }
  | { type: 'scroll'; by: number }
  | { type: 'notice'; text: string; level: 'info' | 'error' };

export function initialChatState(team: string): ChatState {
  return { team, messages: [], cursor: 0, scroll: 0, input: '', connection: { state: 'connecting', attempt: 0 }, loaded: false };
}

/** Adds messages not seen yet (by id), in id order, keeping the newest CHAT_LIMIT. */
export function mergeMessages(current: ChatroomMessage[], incoming: ChatroomMessage[]): ChatroomMessage[] {
  const seen = new Set(current.map((m) => m.id));
  const fresh = incoming.filter((m) => {
    if (seen.has(m.id)) return false;
    seen.add(m.id);
    return true;
  });
  if (fresh.length === 0) return current;
  const last = current.at(-1)?.id ?? -Infinity;
  // The common case (newer messages) appends; anything else re-sorts.
  const merged = fresh.every((m) => m.id > last) && fresh.every((m, i) => i === 0 || m.id > fresh[i - 1]!.id) ? [...current, ...fresh] : [...current, ...fresh].sort((a, b) => a.id - b.id);
  return merged.length > CHAT_LIMIT ? merged.slice(merged.length - CHAT_LIMIT) : merged;
}

export function reduceChat(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'page': {
      const messages = mergeMessages(
        state.messages,
        action.messages.filter((m) => m.teamId === state.team),
      );
      const cursor = Math.max(state.cursor, action.nextCursor);
      if (messages === state.messages && cursor === state.cursor && state.loaded) return state;
      return { ...state, messages, cursor, loaded: true };
    }
    case 'arrived': {
      if (action.message.teamId !== state.team) return state;
      const messages = mergeMessages(state.messages, [action.message]);
      if (messages === state.messages) return state;
      // Someone scrolled up keeps their place: the new line is added below.
      return { ...state, messages, scroll: state.scroll > 0 ? state.scroll + 1 : 0 };
    }
    case 'connection':
      return { ...state, connection: { state: action.state, attempt: action.info.attempt, ...(action.info.error ? { error: action.info.error.message } : {}) } };
    case 'input':
      return { ...state, input: action.value };
    case 'scroll': {
      const scroll = Math.max(0, Math.min(state.messages.length - 1, state.scroll + action.by));
      return scroll === state.scroll ? state : { ...state, scroll };
    }
    case 'notice':
      return { ...state, notice: { text: action.text, level: action.level } };
  }
}
