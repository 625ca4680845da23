import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_PATTERN } from '@tinyagi/core';
import { parseTags, toReadable } from '../src/index.ts';
import { splitAddressPrefix } from '../src/internal.ts';

const id = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,11}$/);
/** Bodies without brackets, backticks or colons-before-text surprises. */
const body = fc.stringMatching(/^[A-Za-z0-9 .,!?'"-]{1,40}$/).filter((s) => s.trim() !== '');
const prose = fc.stringMatching(/^[A-Za-z0-9 .,!?'-]{0,40}$/);
/**
 * Strings of any code points (lone surrogates included), as fast-check's `unit: 'binary'` gives,
 * without the table of every code point that unit builds on its first use (3 to 5 s of CPU).
 */
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) });

describe('parseTags: tricky examples', () => {
  const cases: Array<[string, string, { self?: string }, { mentions?: Array<[string, string]>; rooms?: Array<[string, string]>; shared?: string; ignored?: string[] }]> = [
    ['single handoff', '[@coder: fix the bug]', {}, { mentions: [['coder', 'fix the bug']], shared: '' }],
    ['shared context outside tags', 'We ship Friday. [@coder: fix #12] Thanks!', {}, { mentions: [['coder', 'fix #12']], shared: 'We ship Friday. Thanks!' }],
    [
      'comma list with spaces and @s',
      '[@coder, @Reviewer ,qa: check it]',
      {},
      {
        mentions: [
          ['coder', 'check it'],
          ['reviewer', 'check it'],
          ['qa', 'check it'],
        ],
      },
    ],
    [
      'fan-out with two tags',
      '[@a: one] and [@b: two]',
      {},
      {
        mentions: [
          ['a', 'one'],
          ['b', 'two'],
        ],
        shared: 'and',
      },
    ],
    ['nested brackets in the body', '[@coder: use arr[0] and map[key][1]]', {}, { mentions: [['coder', 'use arr[0] and map[key][1]']] }],
    ['a tag nested in a body belongs to the body', '[@a: ask [@b: x] later]', {}, { mentions: [['a', 'ask [@b: x] later']] }],
    ['fenced code is ignored', '```\n[@coder: not a tag]\n```\n[@qa: real]', {}, { mentions: [['qa', 'real']] }],
    ['tilde fence', '~~~md\n[@x: no]\n~~~', {}, { mentions: [] }],
    ['unclosed fence hides the rest', 'Look:\n```\n[@coder: no]', {}, { mentions: [] }],
    ['inline code is ignored', 'write `[@coder: example]` like so [@qa: go]', {}, { mentions: [['qa', 'go']] }],
    ['double-backtick span with a backtick inside', '``a ` [@x: no] ``', {}, { mentions: [] }],
    ['unmatched backtick is literal', 'a ` b [@x: yes]', {}, { mentions: [['x', 'yes']] }],
    ['self-mention dropped', '[@me: note to self] [@you: hi]', { self: 'me' }, { mentions: [['you', 'hi']], ignored: ['self:me'] }],
    ['duplicate target delivered once, bodies joined', '[@a: one] [@a: two] [@a: one]', {}, { mentions: [['a', 'one\n\ntwo']] }],
    ['duplicate within one list', '[@a,a,A: x]', {}, { mentions: [['a', 'x']] }],
    [
      'empty ids ignored',
      '[@a,,b: x] [@: y]',
      {},
      {
        mentions: [
          ['a', 'x'],
          ['b', 'x'],
        ],
        ignored: ['empty-id:', 'empty-id:'],
      },
    ],
    ['invalid id ignored', '[@-bad: x]', {}, { mentions: [], ignored: ['invalid-id:-bad'] }],
    ['empty body ignored', '[@a:   ]', {}, { mentions: [], ignored: ['empty-body:a'] }],
    ['upper case ids are lower-cased', '[@CoDer: hi]', {}, { mentions: [['coder', 'hi']] }],
    ['chat room post', 'FYI [#dev: standup at 10]', {}, { rooms: [['dev', 'standup at 10']], shared: 'FYI' }],
    ['not tags: no colon, plain brackets, markdown links', '[@coder] [see below] [docs](http://x) [#1 issue]', {}, { mentions: [], rooms: [] }],
    ['unterminated tag is text', '[@coder: never closed', {}, { mentions: [], shared: '[@coder: never closed' }],
    ['multi-line body', '[@writer: line one\nline two]', {}, { mentions: [['writer', 'line one\nline two']] }],
    ['header may not span lines', '[@a\n: x]', {}, { mentions: [] }],
    ['colon inside the body', '[@a: time: 10:30]', {}, { mentions: [['a', 'time: 10:30']] }],
  ];
  for (const [name, text, options, want] of cases) {
    it(name, () => {
      const parsed = parseTags(text, options);
      if (want.mentions) expect(parsed.mentions.map((m) => [m.target, m.message])).toEqual(want.mentions);
      if (want.rooms) expect(parsed.chatroomPosts.map((p) => [p.teamId, p.message])).toEqual(want.rooms);
      if (want.shared !== undefined) expect(parsed.sharedContext).toBe(want.shared);
      if (want.ignored) expect(parsed.ignored.map((i) => `${i.reason}:${i.id}`)).toEqual(want.ignored);
    });
  }
});

describe('parseTags: properties', () => {
  it('is total: any string (and non-strings) give a well-formed result', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), anyText, fc.stringMatching(/^[[\]@#:,`~\n a-z]{0,80}$/)), fc.option(id, { nil: undefined }), (text, self) => {
        const parsed = parseTags(text, { self });
        for (const m of parsed.mentions) {
          expect(ID_PATTERN.test(m.target)).toBe(true);
          expect(m.target).not.toBe(self);
          expect(m.message.trim()).not.toBe('');
        }
        expect(new Set(parsed.mentions.map((m) => m.target)).size).toBe(parsed.mentions.length);
        expect(new Set(parsed.chatroomPosts.map((p) => p.teamId)).size).toBe(parsed.chatroomPosts.length);
        expect(typeof toReadable(text).text).toBe('string');
      }),
      { numRuns: 2000 },
    );
    expect(() => parseTags(undefined as unknown as string)).not.toThrow();
  });

  it('finds exactly the composed tags, with the outside text as shared context', () => {
    fc.assert(
      fc.property(prose, fc.array(fc.tuple(fc.uniqueArray(id, { minLength: 1, maxLength: 3 }), body), { minLength: 1, maxLength: 5 }), prose, (before, tags, after) => {
        const text = `${before} ${tags.map(([ids, b]) => `[@${ids.join(',')}: ${b}]`).join(' ')} ${after}`;
        const parsed = parseTags(text);
        const expected = new Map<string, string[]>();
        for (const [ids, b] of tags) {
          for (const target of ids) {
            const bodies = expected.get(target) ?? [];
            if (!bodies.includes(b.trim())) bodies.push(b.trim());
            expected.set(target, bodies);
          }
        }
        expect(parsed.mentions.map((m) => [m.target, m.message])).toEqual([...expected].map(([t, bodies]) => [t, bodies.join('\n\n')]));
        expect(parsed.sharedContext.replace(/\s+/g, ' ')).toBe(`${before} ${after}`.trim().replace(/\s+/g, ' '));
      }),
      { numRuns: 500 },
    );
  });

  it('tags inside a fenced block are never delivered', () => {
    fc.assert(
      fc.property(fc.string(), (inner) => {
        const text = `\`\`\`\n${inner.replace(/```/g, '')}\n\`\`\``;
        expect(parseTags(text).mentions).toEqual([]);
      }),
    );
  });

  it('stays fast on adversarial input', () => {
    const inputs = ['[@a: '.repeat(50_000), '['.repeat(200_000), '`'.repeat(1000) + 'x'.repeat(1000) + '``[@a: b]'.repeat(20_000), '[@a,'.repeat(50_000) + ': x]'];
    for (const input of inputs) {
      const start = performance.now();
      parseTags(input);
      toReadable(input);
      expect(performance.now() - start).toBeLessThan(1000);
    }
  });
});

describe('toReadable', () => {
  it('turns tags into handoff lines and drops tool markers', () => {
    expect(toReadable('Sure. [@reviewer: review the diff] Thanks').text).toBe('Sure.\n→ @reviewer: review the diff\nThanks');
    expect(toReadable('[@a,b: split it]\n[#dev: done]').text).toBe('→ @a, @b: split it\n→ #dev: done');
    expect(toReadable('Working\n[tool_use: Bash ls]\n<tool_result>files</tool_result>done').text).toBe('Working\ndone');
    expect(toReadable('Here [send_file: /tmp/r.pdf] it is')).toEqual({ text: 'Here  it is', files: ['/tmp/r.pdf'] });
    expect(toReadable('`[@x: example]` stays').text).toBe('`[@x: example]` stays');
  });

  it('shows a tag naming the writer itself as plain text (it is not dispatched)', () => {
    expect(toReadable('[@cc2: done, here is the answer]', { self: 'cc2' }).text).toBe('done, here is the answer');
    expect(toReadable('[@CC2, @cc3: check this]', { self: 'cc2' }).text).toBe('→ @cc3: check this');
    expect(toReadable('[#cc2: a room post]', { self: 'cc2' }).text).toBe('→ #cc2: a room post');
    expect(toReadable('[@cc2: done]').text).toBe('→ @cc2: done');
  });
});

describe('splitAddressPrefix', () => {
  it('splits @target from the text', () => {
    expect(splitAddressPrefix('@coder fix it\nplease')).toEqual({ token: 'coder', rest: 'fix it\nplease' });
    expect(splitAddressPrefix('  @Dev: go')).toEqual({ token: 'Dev', rest: 'go' });
    expect(splitAddressPrefix('@coder')).toEqual({ token: 'coder', rest: '' });
    expect(splitAddressPrefix('mail bob@x.org')).toBeUndefined();
  });
});
