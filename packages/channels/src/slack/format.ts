/**
 * Slack's text formats, both ways.
 *
 * Out: the agent's Markdown as Slack mrkdwn (the `text` of chat.postMessage). Slack reads `&`,
 * `<` and `>` as control characters (`<@U1>` pings, `<!channel>` notifies everyone, `<url|t>` is
 * a link), so every one of them in the text is escaped and arrives as written; an agent can
 * never ping anyone. Bold `**b**` → `*b*`, italic → `_i_`, strike `~~s~~` → `~s~`, inline code
 * and fenced code blocks stay in backticks (their content escaped, the language tag dropped:
 * Slack shows it as text), links `[t](u)` → `<u|t>`, headings → bold, list bullets `-`/`*`/`+`
 * → `•`, a `> quote` stays a quote.
 *
 * In: a Slack message's text as plain text for the agent: `<@U1>` → `@U1`, `<#C1|general>` →
 * `#general`, `<!here>` → `@here`, `<https://x|label>` → `label (https://x)`, entities
 * unescaped.
 */
import { parseMarkdown, type MdNode } from '../markdown.ts';

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const MARK = { bold: '*', italic: '_', strike: '~' } as const;

/** A list bullet or a quote at the start of a line (after the escaping, so `>` reads `&gt;`). */
const LINE_START = /(^|\n)([ \t]*)(?:([-*+])[ \t]+(?=\S)|&gt;([ \t]?))/g;

function plain(nodes: readonly MdNode[]): string {
  return nodes.map((n) => (n.kind === 'text' || n.kind === 'code' || n.kind === 'pre' ? n.text : plain(n.children))).join('');
}

function render(nodes: readonly MdNode[], atLineStart: boolean): string {
  let out = '';
  for (const n of nodes) {
    const lineStart = out === '' ? atLineStart : out.endsWith('\n');
    switch (n.kind) {
      case 'text':
        out += escapeMrkdwn(n.text).replace(LINE_START, (match, nl: string, indent: string, bullet: string | undefined, quoteSpace: string | undefined, offset: number) => {
          if (offset === 0 && nl === '' && !lineStart) return match;
          return bullet !== undefined ? `${nl}${indent}• ` : `${nl}${indent}>${quoteSpace ?? ''}`;
        });
        break;
      case 'code':
        out += n.text === '' ? '' : `\`${escapeMrkdwn(n.text)}\``;
        break;
      case 'pre':
        out += `\`\`\`\n${escapeMrkdwn(n.text.replace(/\n$/, ''))}\n\`\`\``;
        break;
      case 'link': {
        const label = plain(n.children).replace(/\s+/g, ' ').trim();
        const url = n.url.replace(/\|/g, '%7C');
        out += /^(https?:|mailto:)/i.test(url)
          ? `<${escapeMrkdwn(url)}${label !== '' && label !== n.url ? `|${escapeMrkdwn(label)}` : ''}>`
          : escapeMrkdwn(label === '' ? n.url : `${label} (${n.url})`);
        break;
      }
      default:
        out += `${MARK[n.kind]}${render(n.children, false)}${MARK[n.kind]}`;
    }
  }
  return out;
}

/** Markdown → Slack mrkdwn. */
export function markdownToMrkdwn(markdown: string): string {
  return render(parseMarkdown(markdown), true);
}

/** A Slack message's text (mrkdwn with Slack's markup) as plain text for the agent. */
export function slackToPlain(text: string): string {
  return text
    .replace(/<([^<>]*)>/g, (_m, inner: string) => {
      const bar = inner.indexOf('|');
      const target = bar === -1 ? inner : inner.slice(0, bar);
      const label = bar === -1 ? '' : inner.slice(bar + 1);
      if (target.startsWith('@')) return label !== '' ? `@${label}` : target;
      if (target.startsWith('#')) return label !== '' ? `#${label}` : target;
      if (target.startsWith('!subteam^')) return label !== '' ? label : '@group';
      if (target.startsWith('!')) return `@${(target.slice(1).split('^')[0] ?? '').trim()}`;
      if (label === '' || label === target || `mailto:${label}` === target || target.replace(/^https?:\/\//, '') === label) return target.replace(/^mailto:/, '');
      return `${label} (${target})`;
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
