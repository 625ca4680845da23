/**
 * The agent's Markdown as Telegram HTML (parse_mode HTML): we convert it ourselves, because
 * Telegram's legacy Markdown mode silently turns `snake_case` into italics and MarkdownV2 refuses
 * every unescaped `.`, `-` or `(`. Text is escaped (`&`, `<`, `>`), so it arrives as written;
 * code, bold, italic, strikethrough and links become Telegram's entities. The visible text is
 * never longer than the Markdown (markers go, nothing is added), so a chunk within the limit
 * stays within it.
 */
import { parseMarkdown, type MdNode } from '../markdown.ts';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const TAG = { bold: 'b', italic: 'i', strike: 's' } as const;

function render(nodes: readonly MdNode[]): string {
  return nodes
    .map((n) => {
      switch (n.kind) {
        case 'text':
          return escapeHtml(n.text);
        case 'code':
          return `<code>${escapeHtml(n.text)}</code>`;
        case 'pre':
          return n.lang !== '' && /^[\w+#.-]+$/.test(n.lang) ? `<pre><code class="language-${n.lang}">${escapeHtml(n.text)}</code></pre>` : `<pre>${escapeHtml(n.text)}</pre>`;
        case 'link':
          return `<a href="${escapeHtml(n.url).replace(/"/g, '&quot;')}">${render(n.children)}</a>`;
        default:
          return `<${TAG[n.kind]}>${render(n.children)}</${TAG[n.kind]}>`;
      }
    })
    .join('');
}

/** Markdown → Telegram HTML. */
export function markdownToTelegramHtml(markdown: string): string {
  return render(parseMarkdown(markdown));
}
