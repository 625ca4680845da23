/**
 * The Bot API's three parse modes, as Telegram's server (TDLib, td/telegram/MessageEntity.cpp:
 * parse_markdown, parse_markdown_v2, parse_html) applies them to a sent text: the text the user
 * sees, its entities (offsets and lengths in UTF-16 code units), or the 400 error Telegram
 * answers ("Bad Request: can't parse entities: …", byte offsets in UTF-8). Close enough to show
 * what matters to a bot: legacy Markdown turns `snake_case and my_var` into italics without an
 * error, MarkdownV2 refuses an unescaped reserved character, HTML refuses an unknown or unclosed
 * tag and a bare `<`.
 */

export interface TelegramEntity {
  type: 'bold' | 'italic' | 'underline' | 'strikethrough' | 'spoiler' | 'code' | 'pre' | 'text_link' | 'blockquote';
  offset: number;
  length: number;
  url?: string;
  language?: string;
}

export type Parsed = { ok: true; text: string; entities: TelegramEntity[] } | { ok: false; description: string };

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const fail = (why: string): Parsed => ({ ok: false, description: `Bad Request: can't parse entities: ${why}` });

export function parseEntities(text: string, mode: string | undefined): Parsed {
  if (mode === undefined || mode === '') return { ok: true, text, entities: [] };
  const m = mode.toLowerCase();
  if (m === 'markdown') return parseLegacyMarkdown(text);
  if (m === 'markdownv2') return parseMarkdownV2(text);
  if (m === 'html') return parseHtml(text);
  return { ok: false, description: `Bad Request: unsupported parse_mode` };
}

/** parse_markdown: `_italic_`, `*bold*`, `` `code` ``, ```` ```pre``` ````, `[text](url)`; no nesting, `\` escapes the four. */
function parseLegacyMarkdown(src: string): Parsed {
  let out = '';
  const entities: TelegramEntity[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\' && '_*`['.includes(src[i + 1] ?? '')) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    if (!'_*`['.includes(c)) {
      out += c;
      i++;
      continue;
    }
    const begin = bytes(src.slice(0, i));
    const pre = c === '`' && src.startsWith('```', i);
    const end = c === '[' ? ']' : c;
    i += pre ? 3 : 1;
    let language = '';
    if (pre) {
      const nl = src.indexOf('\n', i);
      const first = nl === -1 ? '' : src.slice(i, nl);
      if (nl !== -1 && /^[^\s`]+$/.test(first)) {
        language = first;
        i = nl + 1;
      }
    }
    const offset = out.length;
    while (i < src.length && (pre ? !src.startsWith('```', i) : src[i] !== end)) out += src[i++];
    if (i >= src.length) return fail(`Can't find end of the entity starting at byte offset ${begin}`);
    const length = out.length - offset;
    i += pre ? 3 : 1;
    if (c === '[') {
      const url = /^\(([^)]*)\)/.exec(src.slice(i));
      if (url) i += url[0].length;
      if (url && length > 0) entities.push({ type: 'text_link', offset, length, url: url[1]! });
      continue;
    }
    if (length > 0) entities.push(pre ? { type: 'pre', offset, length, ...(language ? { language } : {}) } : { type: c === '_' ? 'italic' : c === '*' ? 'bold' : 'code', offset, length });
  }
  return { ok: true, text: out, entities };
}

const V2_RESERVED = '_*[]()~`>#+-=|{}.!';

/** parse_markdown_v2: nested `*bold*`, `_italic_`, `__underline__`, `~strike~`, `||spoiler||`, code, pre, links; every other reserved character must be escaped. */
function parseMarkdownV2(src: string): Parsed {
  let out = '';
  const entities: TelegramEntity[] = [];
  const stack: Array<{ marker: string; offset: number; begin: number; url?: boolean }> = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\' && i + 1 < src.length && src.charCodeAt(i + 1) <= 126) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    if (!V2_RESERVED.includes(c)) {
      out += c;
      i++;
      continue;
    }
    const begin = bytes(src.slice(0, i));
    if (c === '`') {
      const pre = src.startsWith('```', i);
      const open = pre ? 3 : 1;
      let j = i + open;
      let language = '';
      if (pre) {
        const nl = src.indexOf('\n', j);
        if (nl !== -1 && /^[^\s`]*$/.test(src.slice(j, nl))) {
          language = src.slice(j, nl);
          j = nl + 1;
        }
      }
      const offset = out.length;
      for (;;) {
        if (j >= src.length) return fail(`Can't find end of ${pre ? 'Pre' : 'Code'} entity at byte offset ${begin}`);
        if (src[j] === '\\' && (src[j + 1] === '`' || src[j + 1] === '\\')) {
          out += src[j + 1];
          j += 2;
          continue;
        }
        if (src.startsWith(pre ? '```' : '`', j)) break;
        out += src[j++];
      }
      if (out.length > offset) entities.push(pre ? { type: 'pre', offset, length: out.length - offset, ...(language ? { language } : {}) } : { type: 'code', offset, length: out.length - offset });
      i = j + open;
      continue;
    }
    const marker = c === '_' && src[i + 1] === '_' ? '__' : c === '|' && src[i + 1] === '|' ? '||' : c;
    const top = stack.at(-1);
    if (c === ']' && top?.url) {
      stack.pop();
      const url = /^\(((?:\\.|[^)\\])*)\)/.exec(src.slice(i + 1));
      if (!url) return fail(`Can't find end of a url at byte offset ${bytes(src.slice(0, i + 1))}`);
      if (out.length > top.offset) entities.push({ type: 'text_link', offset: top.offset, length: out.length - top.offset, url: url[1]!.replace(/\\(.)/g, '$1') });
      i += 1 + url[0].length;
      continue;
    }
    if (top && top.marker === marker) {
      stack.pop();
      const type = ({ '*': 'bold', _: 'italic', __: 'underline', '~': 'strikethrough', '||': 'spoiler' } as const)[marker as '*'];
      if (out.length > top.offset) entities.push({ type, offset: top.offset, length: out.length - top.offset });
      i += marker.length;
      continue;
    }
    if (c === '[') {
      stack.push({ marker: '[', offset: out.length, begin, url: true });
      i++;
      continue;
    }
    if (['*', '_', '__', '~', '||'].includes(marker)) {
      stack.push({ marker, offset: out.length, begin });
      i += marker.length;
      continue;
    }
    return fail(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
  }
  const open = stack.at(-1);
  if (open) return fail(`Can't find end of ${open.url ? 'TextUrl' : 'the'} entity at byte offset ${open.begin}`);
  return { ok: true, text: out, entities: entities.sort((a, b) => a.offset - b.offset) };
}

const HTML_TAGS: Record<string, TelegramEntity['type'] | undefined> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
  blockquote: 'blockquote',
};
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** parse_html: the supported tags (anything else is an error), the four named entities and numeric ones. */
function parseHtml(src: string): Parsed {
  let out = '';
  const entities: TelegramEntity[] = [];
  const stack: Array<{ tag: string; offset: number; attrs: Record<string, string> }> = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '&') {
      const m = /^&(?:#(\d{1,7})|#x([\da-f]{1,6})|([a-z]+));/i.exec(src.slice(i, i + 12));
      const decoded = m ? (m[1] ? String.fromCodePoint(Number(m[1])) : m[2] ? String.fromCodePoint(Number.parseInt(m[2], 16)) : NAMED[m[3]!.toLowerCase()]) : undefined;
      if (m && decoded !== undefined) {
        out += decoded;
        i += m[0].length;
      } else {
        out += c;
        i++;
      }
      continue;
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const begin = bytes(src.slice(0, i));
    // A `<` that starts no tag (`1 < 2`) is an error, not text: it must be written &lt;.
    if (!/[a-z/]/i.test(src[i + 1] ?? '')) return fail(`Unsupported start tag "" at byte offset ${begin}`);
    const end = src.indexOf('>', i);
    if (end === -1) return fail(`Unclosed start tag at byte offset ${begin}`);
    const raw = src.slice(i + 1, end);
    if (raw.startsWith('/')) {
      const name = raw.slice(1).trim().toLowerCase();
      const open = stack.pop();
      if (open === undefined) return fail(`Unexpected end tag at byte offset ${begin}`);
      if (open.tag !== name) return fail(`Unmatched end tag at byte offset ${begin}, expected "</${open.tag}>", found "</${name}>"`);
      const type = HTML_TAGS[name]!;
      const length = out.length - open.offset;
      if (length > 0) {
        if (type === 'text_link') entities.push({ type, offset: open.offset, length, url: open.attrs['href'] ?? '' });
        else if (type === 'code' && stack.at(-1)?.tag === 'pre') stack.at(-1)!.attrs['language'] = (open.attrs['class'] ?? '').replace(/^language-/, '');
        else if (type === 'pre') entities.push({ type, offset: open.offset, length, ...(open.attrs['language'] ? { language: open.attrs['language'] } : {}) });
        else entities.push({ type, offset: open.offset, length });
      }
      i = end + 1;
      continue;
    }
    const name = /^[a-z][a-z0-9-]*/i.exec(raw)?.[0]?.toLowerCase() ?? '';
    if (HTML_TAGS[name] === undefined) return fail(`Unsupported start tag "${name}" at byte offset ${begin}`);
    const attrs: Record<string, string> = {};
    for (const a of raw.slice(name.length).matchAll(/([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))/gi)) {
      attrs[a[1]!.toLowerCase()] = (a[2] ?? a[3] ?? a[4] ?? '').replace(/&(lt|gt|amp|quot);/g, (_, n: string) => NAMED[n]!);
    }
    if (name === 'span' && attrs['class'] !== 'tg-spoiler') return fail(`Tag "span" must have class "tg-spoiler" at byte offset ${begin}`);
    stack.push({ tag: name, offset: out.length, attrs });
    i = end + 1;
  }
  const open = stack.at(-1);
  if (open) return fail(`Can't find end tag corresponding to start tag "${open.tag}"`);
  return { ok: true, text: out, entities: entities.sort((a, b) => a.offset - b.offset) };
}
