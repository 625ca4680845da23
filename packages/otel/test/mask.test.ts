import { describe, expect, it } from 'vitest';
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
});
