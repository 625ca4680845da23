/**
 * What a human sees of an agent's reply: tags become readable handoff lines
 * ("→ @reviewer: review the diff"), tool markers are removed, `[send_file: /path]` markers
 * become attachments. The reference sent raw `[@x: …]` tags and tool markers to people's chats.
 */
import { findTags } from './tags.ts';

export interface ReadableReply {
  text: string;
  /** Paths named by `[send_file: …]` markers (the caller checks they exist and are allowed). */
  files: string[];
}

const TOOL_MARKER_LINE = /^[ \t]*\[(?:tool|tool_use|tool_result|tool_call|using tool)\b[^\]\n]*\][ \t]*(?:\n|$)/gim;
const TOOL_XML = /<(tool_use|tool_result|function_calls|function_results)\b[^>]*>[\s\S]*?<\/\1>/gi;
const SEND_FILE = /\[send_file:\s*([^\]\n]+?)\s*\]/gi;

export interface ReadableOptions {
  /**
   * The agent that wrote the text. A tag naming it is not dispatched (parseTags drops
   * self-mentions), so it is not shown as a handoff either: an agent that echoes the tag that
   * addressed it (`[@cc2: done]` from cc2) reads as plain text.
   */
  self?: string | undefined;
}

export function toReadable(text: string, options: ReadableOptions = {}): ReadableReply {
  const input = typeof text === 'string' ? text : '';
  const self = options.self?.toLowerCase();
  const { list } = findTags(input);
  let out = '';
  let cursor = 0;
  for (const tag of list) {
    const sigil = tag.kind === 'agent' ? '@' : '#';
    const who = tag.ids
      .filter((id) => tag.kind !== 'agent' || id !== self)
      .map((id) => `${sigil}${id}`)
      .join(', ');
    const line = who === '' ? tag.body : `→ ${who}: ${tag.body}`;
    const before = stripLeading(input.slice(cursor, tag.start), cursor > 0).replace(/[ \t]+$/, '');
    out += before;
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += line;
    cursor = tag.end;
    if (cursor < input.length && input[cursor] !== '\n') out += '\n';
  }
  out += stripLeading(input.slice(cursor), cursor > 0);
  const files: string[] = [];
  out = out.replace(SEND_FILE, (_whole, path: string) => {
    files.push(path);
    return '';
  });
  out = out.replace(TOOL_XML, '').replace(TOOL_MARKER_LINE, '');
  const cleaned = out
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text: cleaned, files };
}

/** After a tag the next text starts a new line, so its leading blanks are dropped. */
function stripLeading(segment: string, afterTag: boolean): string {
  return afterTag ? segment.replace(/^[ \t]+/, '') : segment;
}
