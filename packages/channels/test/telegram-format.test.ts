/**
 * What the agent writes is what the Telegram user reads: the adapter's Markdown → HTML, parsed by
 * the stand-in's copy of Telegram's HTML parser, gives the text as written (markers aside) with
 * the right entities; Telegram's legacy Markdown mode (what the adapter used before) does not.
 */
import { describe, expect, it } from 'vitest';
import { parseEntities } from '../../test-kit/src/telegram-entities.ts';
import { markdownToTelegramHtml } from '../src/telegram/format.ts';

/** [agent Markdown, the text the user must see, the entities (type:text) it must carry] */
const CORPUS: Array<[string, string, string[]]> = [
  ['snake_case and my_var and a_b.py', 'snake_case and my_var and a_b.py', []],
  ['Run `pnpm --filter @tinyagi/core build` in packages/core_utils/', 'Run pnpm --filter @tinyagi/core build in packages/core_utils/', ['code:pnpm --filter @tinyagi/core build']],
  ['```ts\nconst a_b = x < 2 && y > 1; // **not bold**\n```', 'const a_b = x < 2 && y > 1; // **not bold**', ['pre:const a_b = x < 2 && y > 1; // **not bold**']],
  ['**Done**: fixed *two* bugs in __init__.py', 'Done: fixed two bugs in __init__.py', ['bold:Done', 'italic:two']],
  ['2 * 3 * 4 = 24, and 5*6 too', '2 * 3 * 4 = 24, and 5*6 too', []],
  ['- item one\n* item two\n  * nested', '- item one\n* item two\n  * nested', []],
  ['See [the docs](https://example.com/a_b?x=1&y=2) or <https://example.com>', 'See the docs or <https://example.com>', ['text_link:the docs']],
  ['Paths: ~/work/my_proj/src/*.ts and C:\\Users\\me\\file_1.txt', 'Paths: ~/work/my_proj/src/*.ts and C:\\Users\\me\\file_1.txt', []],
  ['Emoji 👨‍👩‍👧‍👦 🇫🇷 👍🏽 and **bold 🎉**', 'Emoji 👨‍👩‍👧‍👦 🇫🇷 👍🏽 and bold 🎉', ['bold:bold 🎉']],
  ['## Summary\nAll *good* & <fine>', 'Summary\nAll good & <fine>', ['bold:Summary', 'italic:good']],
  ['unclosed **bold and `tick and _under', 'unclosed **bold and `tick and _under', []],
  ['~~old~~ new \\*escaped\\*', 'old new *escaped*', ['strikethrough:old']],
  ['a `code with *stars* and _unders_` span', 'a code with *stars* and _unders_ span', ['code:code with *stars* and _unders_']],
];

const described = (text: string, entities: Array<{ type: string; offset: number; length: number }>) => entities.map((e) => `${e.type}:${text.slice(e.offset, e.offset + e.length)}`);

describe('Markdown → Telegram HTML', () => {
  for (const [markdown, visible, entities] of CORPUS) {
    it(`arrives as written: ${JSON.stringify(markdown).slice(0, 60)}`, () => {
      const parsed = parseEntities(markdownToTelegramHtml(markdown), 'HTML');
      if (!parsed.ok) throw new Error(parsed.description);
      expect(parsed.text).toBe(visible);
      expect(described(parsed.text, parsed.entities)).toEqual(entities);
    });
  }

  it("Telegram's legacy Markdown mode mangles the same text (why the adapter converts it itself)", () => {
    const legacy = parseEntities('snake_case and my_var', 'Markdown');
    expect(legacy).toMatchObject({ ok: true, text: 'snakecase and myvar' });
    expect(parseEntities('snake_case and my_var and a_b.py', 'Markdown')).toMatchObject({ ok: false, description: expect.stringContaining("Can't find end of the entity") });
    expect(parseEntities('Done. See a_b.py!', 'MarkdownV2')).toMatchObject({ ok: false, description: expect.stringContaining("Character '.' is reserved") });
    expect(parseEntities('1 < 2', 'HTML')).toMatchObject({ ok: false, description: expect.stringContaining('Unsupported start tag') });
  });
});
