/**
 * The tag protocol in agent output (docs/teams.md):
 *   [@coder: fix the bug]          hand work to a teammate
 *   [@coder,reviewer: look at #4]  the same message to several teammates
 *   [#dev: standup at 10]          post to a team's chat room
 * Text outside tags is shared context, delivered to every target ahead of its own part.
 *
 * Contract: `parseTags` is pure and total (any string gives a result, it never throws) and
 * linear in the input. Brackets are counted, so `[@a: use arr[0]]` is one tag; tags inside
 * fenced code blocks or inline code are examples, not tags; ids are lower-cased; empty and
 * malformed ids and self-mentions are dropped (reported in `ignored`); each target receives at
 * most one message per reply (bodies of repeated tags are joined in order).
 */
import { ID_PATTERN } from '@tinyagi/core';
import { codeMask } from './code-spans.ts';

export type TagKind = 'agent' | 'team';

export interface ParsedTag {
  kind: TagKind;
  /** Valid, lower-cased, de-duplicated ids as written in the tag (self included). */
  ids: string[];
  body: string;
  /** Offsets of the whole tag in the input (`end` exclusive). */
  start: number;
  end: number;
}

export interface Mention {
  target: string;
  message: string;
}

export interface ChatroomPostTag {
  teamId: string;
  message: string;
}

export type IgnoredReason = 'self' | 'invalid-id' | 'empty-id' | 'empty-body';

export interface IgnoredTarget {
  id: string;
  kind: TagKind;
  reason: IgnoredReason;
}

export interface ParsedReply {
  tags: ParsedTag[];
  /** Text outside tags (code kept), whitespace-normalised; '' when there is none. */
  sharedContext: string;
  /** One entry per distinct agent target, in first-mention order. */
  mentions: Mention[];
  /** One entry per distinct team room, in first-mention order. */
  chatroomPosts: ChatroomPostTag[];
  ignored: IgnoredTarget[];
}

export interface ParseOptions {
  /** The agent that wrote the text: tags addressed to it are ignored. */
  self?: string | undefined;
}

/** Header ids longer than this cannot be valid and end the header scan early. */
const MAX_HEADER = 400;

export function parseTags(text: string, options: ParseOptions = {}): ParsedReply {
  const input = typeof text === 'string' ? text : '';
  const tags = findTags(input);
  const self = options.self?.toLowerCase();
  const ignored: IgnoredTarget[] = [];
  const mentionBodies = new Map<string, string[]>();
  const roomBodies = new Map<string, string[]>();
  let outside = '';
  let cursor = 0;
  for (const tag of tags.list) {
    outside = joinOutside(outside, input.slice(cursor, tag.start));
    cursor = tag.end;
    const header = tags.headers.get(tag.start)!;
    for (const bad of header.invalid) ignored.push({ id: bad, kind: tag.kind, reason: bad === '' ? 'empty-id' : 'invalid-id' });
    for (const id of tag.ids) {
      if (tag.kind === 'agent' && id === self) {
        ignored.push({ id, kind: tag.kind, reason: 'self' });
        continue;
      }
      if (tag.body === '') {
        ignored.push({ id, kind: tag.kind, reason: 'empty-body' });
        continue;
      }
      const into = tag.kind === 'agent' ? mentionBodies : roomBodies;
      const bodies = into.get(id);
      if (bodies === undefined) into.set(id, [tag.body]);
      else if (!bodies.includes(tag.body)) bodies.push(tag.body);
    }
  }
  outside = joinOutside(outside, input.slice(cursor));
  return {
    tags: tags.list,
    sharedContext: normaliseWhitespace(outside),
    mentions: [...mentionBodies].map(([target, bodies]) => ({ target, message: bodies.join('\n\n') })),
    chatroomPosts: [...roomBodies].map(([teamId, bodies]) => ({ teamId, message: bodies.join('\n\n') })),
    ignored,
  };
}

interface Header {
  kind: TagKind;
  ids: string[];
  invalid: string[];
  /** Offset just after the ':' ending the header. */
  bodyStart: number;
}

/** Top-level tags in order; a tag nested in another tag's body is part of that body. */
export function findTags(text: string): { list: ParsedTag[]; headers: Map<number, Header> } {
  const list: ParsedTag[] = [];
  const headers = new Map<number, Header>();
  if (!text.includes('[')) return { list, headers };
  const mask = codeMask(text);
  const closing = matchBrackets(text, mask);
  let i = 0;
  while (i < text.length) {
    const next = text.indexOf('[', i);
    if (next === -1) break;
    i = next;
    const close = closing[i] ?? -1;
    if (mask[i] === 1 || close === -1) {
      i++;
      continue;
    }
    const header = parseHeader(text, i + 1, close);
    if (header === undefined) {
      i++;
      continue;
    }
    headers.set(i, header);
    list.push({ kind: header.kind, ids: header.ids, body: text.slice(header.bodyStart, close).trim(), start: i, end: close + 1 });
    i = close + 1;
  }
  return { list, headers };
}

/** For each '[' outside code, the index of its matching ']' (or -1). One pass with a stack. */
function matchBrackets(text: string, mask: Uint8Array): Int32Array {
  const closing = new Int32Array(text.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (mask[i] === 1) continue;
    const c = text.charCodeAt(i);
    if (c === 91 /* [ */) stack.push(i);
    else if (c === 93 /* ] */ && stack.length > 0) closing[stack.pop()!] = i;
  }
  return closing;
}

/**
 * `@a`, `@a,b`, `@a, @b`, `#team` followed by ':'. Returns undefined when the bracket does not
 * open a tag (e.g. `[see below]`, `[@a]`, `[#1 issue]`).
 */
function parseHeader(text: string, from: number, close: number): Header | undefined {
  let i = from;
  while (i < close && (text[i] === ' ' || text[i] === '\t')) i++;
  const sigil = text[i];
  if (sigil !== '@' && sigil !== '#') return undefined;
  const colon = text.indexOf(':', i);
  if (colon === -1 || colon > close || colon - i > MAX_HEADER) return undefined;
  const raw = text.slice(i + 1, colon);
  if (!/^[\s@A-Za-z0-9_,-]*$/.test(raw) || /[\r\n]/.test(raw)) return undefined;
  const ids: string[] = [];
  const invalid: string[] = [];
  for (const part of raw.split(',')) {
    const id = part.trim().replace(/^@\s*/, '').trim().toLowerCase();
    if (id === '' || !ID_PATTERN.test(id)) invalid.push(id);
    else if (!ids.includes(id)) ids.push(id);
  }
  return { kind: sigil === '@' ? 'agent' : 'team', ids, invalid, bodyStart: colon + 1 };
}

/** Joins text around a removed tag, keeping one space where two words would touch. */
function joinOutside(before: string, after: string): string {
  if (before === '' || after === '') return before + after;
  const last = before[before.length - 1]!;
  if (last === ' ' || last === '\t') return before + after.replace(/^[ \t]+/, '');
  const touching = !/\s/.test(last) && !/\s/.test(after[0]!);
  return before + (touching ? ' ' : '') + after;
}

function normaliseWhitespace(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
