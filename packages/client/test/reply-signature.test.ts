import { describe, expect, it } from 'vitest';
import { signReply, unsignReply } from '../src/index.ts';

describe('reply signature', () => {
  it('unsignReply takes off exactly the signature signReply added, and nothing else', () => {
    const signed = signReply('Done.\n\nSee the diff.', 'coder');
    expect(signed).toBe('Done.\n\nSee the diff.\n\n— @coder');
    expect(unsignReply(signed, 'coder')).toBe('Done.\n\nSee the diff.');
    expect(unsignReply(signed, 'reviewer')).toBe(signed);
    expect(unsignReply('no signature', 'coder')).toBe('no signature');
    expect(unsignReply(signed, null)).toBe(signed);
  });
});
