/**
 * What the agent writes is what the Slack user reads: Markdown → mrkdwn escapes Slack's control
 * characters (`&`, `<`, `>`: nobody is pinged, no link is made that the agent did not write),
 * turns Markdown's markers into Slack's, and leaves code alone; a Slack message's text comes to
 * the agent as plain text.
 */
import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, markdownToMrkdwn, slackToPlain } from '../src/slack/format.ts';

/** [agent Markdown, the mrkdwn Slack gets] */
const CORPUS: Array<[string, string]> = [
  ['snake_case and my_var and a_b.py', 'snake_case and my_var and a_b.py'],
  ['Run `pnpm --filter @tinyagi/core build` in packages/core_utils/', 'Run `pnpm --filter @tinyagi/core build` in packages/core_utils/'],
  ['```ts\nconst a_b = x < 2 && y > 1; // **not bold**\n```', '```\nconst a_b = x &lt; 2 &amp;&amp; y &gt; 1; // **not bold**\n```'],
  ['**Done**: fixed *two* bugs in __init__.py', '*Done*: fixed _two_ bugs in __init__.py'],
  ['2 * 3 * 4 = 24, and 5*6 too', '2 * 3 * 4 = 24, and 5*6 too'],
  ['- item one\n* item two\n  * nested\n1. first', '• item one\n• item two\n  • nested\n1. first'],
  ['text - not a list * here', 'text - not a list * here'],
  ['See [the docs](https://example.com/a_b?x=1&y=2) or <https://example.com>', 'See <https://example.com/a_b?x=1&amp;y=2|the docs> or &lt;https://example.com&gt;'],
  ['[a|b](https://x.example/p|q)', '<https://x.example/p%7Cq|a|b>'],
  ['[**bold** label](mailto:me@example.com)', '<mailto:me@example.com|bold label>'],
  ['## Summary\nAll *good* & <fine>', '*Summary*\nAll _good_ &amp; &lt;fine&gt;'],
  ['~~old~~ new', '~old~ new'],
  ['a `code with *stars* and _unders_` span', 'a `code with *stars* and _unders_` span'],
  ['> quoted **line**\nnot quoted a > b', '> quoted *line*\nnot quoted a &gt; b'],
  ['ping <!channel> and <@U123> & @here', 'ping &lt;!channel&gt; and &lt;@U123&gt; &amp; @here'],
  ['Emoji 👨‍👩‍👧‍👦 and **bold 🎉**', 'Emoji 👨‍👩‍👧‍👦 and *bold 🎉*'],
  ['unclosed **bold and `tick and _under', 'unclosed **bold and `tick and _under'],
];

describe('Markdown → Slack mrkdwn', () => {
  for (const [markdown, mrkdwn] of CORPUS) {
    it(`arrives as written: ${JSON.stringify(markdown).slice(0, 60)}`, () => {
      expect(markdownToMrkdwn(markdown)).toBe(mrkdwn);
    });
  }

  it('never lets a control character through: every <…> is a link the agent wrote, every & an entity', () => {
    for (const [markdown] of CORPUS) {
      const out = markdownToMrkdwn(markdown);
      for (const m of out.matchAll(/<([^>]*)>/g)) expect(m[1]).toMatch(/^(https?:|mailto:)/);
      expect(out.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
      expect(out).not.toMatch(/<[@#!]/);
    }
  });

  it('escapes exactly the three characters Slack asks for', () => {
    expect(escapeMrkdwn('a & b < c > d " \' *')).toBe('a &amp; b &lt; c &gt; d " \' *');
  });
});

describe('Slack text → plain text for the agent', () => {
  it('resolves Slack markup and entities', () => {
    expect(slackToPlain('<@U1> hi <#C1|general> <!here> <https://a.b|a.b> <mailto:x@y.z|x@y.z> &lt;tag&gt; &amp;amp; <https://x.example/a|the doc>')).toBe(
      '@U1 hi #general @here https://a.b x@y.z <tag> &amp; the doc (https://x.example/a)',
    );
    expect(slackToPlain('@coder run `ls &lt; x`')).toBe('@coder run `ls < x`');
  });
});
