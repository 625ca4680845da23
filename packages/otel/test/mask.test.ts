import { describe, expect, it } from 'vitest';
import { maskCut, VALUE_STRING_MAX } from '../src/mask.ts';
import { maskText, maskValue } from '../src/index.ts';

describe('masking content before it goes on a span', () => {
  it('masks known key shapes, bearer credentials, URL passwords and secret assignments in text', () => {
    const text = [
      'key sk-ant-api03-abcdefghijklmnop0123 here',
      'gh ghp_abcdefghijklmnopqrstuvwxyz0123',
      'Authorization: Bearer abc.def-ghijklmnop',
      'db postgres://tiny:s3cretpw@db:5432/tiny',
      'OPENAI_API_KEY=abcd1234efgh',
      'aws AKIAABCDEFGHIJKLMNOP',
    ].join('\n');
    const masked = maskText(text);
    for (const secret of ['sk-ant-api03-abcdefghijklmnop0123', 'ghp_abcdefghijklmnopqrstuvwxyz0123', 'abc.def-ghijklmnop', 's3cretpw', 'abcd1234efgh', 'AKIAABCDEFGHIJKLMNOP'])
      expect(masked).not.toContain(secret);
    expect(masked).toContain('postgres://tiny:…@db:5432/tiny');
    expect(masked).toContain('Bearer …');
    expect(maskText('plain words stay')).toBe('plain words stay');
  });

  it('masks secret-named keys at any depth of a tool input', () => {
    expect(maskValue({ path: 'a.ts', headers: { Authorization: 'x', 'x-api-key': 'y' }, env: [{ GITHUB_TOKEN: 'z' }], n: 3 })).toEqual({
      path: 'a.ts',
      headers: { Authorization: '…', 'x-api-key': '…' },
      env: [{ GITHUB_TOKEN: '…' }],
      n: 3,
    });
  });

  it('reads a long text once: runs of word characters, of `a.`, of secret words and of `://` are masked in one pass (each held the loop before)', () => {
    const million = 1_000_000;
    for (const text of ['a'.repeat(million), 'a.'.repeat(million / 2), 'token'.repeat(million / 5), 'a://b:'.repeat(million / 6), 'x.password="b '.repeat(million / 14)]) {
      expect(maskText(text).length).toBeGreaterThan(0);
    }
    const blob = 'QUJD'.repeat(250_000);
    const masked = maskText(`${blob} db.password=hunter2pass https://u:s3cretpw@h/x ${blob} x.api-key: 'abcd1234' ${blob}`);
    for (const secret of ['hunter2pass', 's3cretpw', 'abcd1234']) expect(masked).not.toContain(secret);
    expect(maskText('a=1 path: /usr/bin')).toBe('a=1 path: /usr/bin');
  });

  it('cuts before it masks: only what is kept is read, and a secret the cut goes through is masked whole', () => {
    const text = `${'x '.repeat(4_000)}API_TOKEN=abcdefgh12345678 ${'y'.repeat(900_000)}`;
    const cut = maskCut(text, 8_005);
    expect(cut).not.toContain('abcdefgh');
    expect(cut).toMatch(/… \[\d+ more characters\]$/);
    expect(cut.length).toBeLessThan(8_100);
    // A value's long strings are cut too, so a tool's input of a long blob never reaches the patterns whole.
    expect((maskValue({ output: 'z'.repeat(900_000) }) as { output: string }).output.length).toBeLessThan(VALUE_STRING_MAX + 100);
  });
});
