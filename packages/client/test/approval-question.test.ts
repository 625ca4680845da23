import { describe, expect, it } from 'vitest';
import { approvalQuestion } from '../src/index.ts';

describe('approvalQuestion', () => {
  it('reads a question and its text choices; a blank question falls back to the summary; blank or non-text choices are left out', () => {
    expect(approvalQuestion({ summary: 'Which database?', input: { question: 'Which database, staging or production?', choices: ['staging', ' ', 7, 'production'] } })).toEqual({
      question: 'Which database, staging or production?',
      choices: ['staging', 'production'],
    });
    expect(approvalQuestion({ summary: 'Which database?', input: { question: '  ' } })).toEqual({ question: 'Which database?', choices: [] });
    expect(approvalQuestion({ summary: 'Bash: ls', input: null })).toEqual({ question: 'Bash: ls', choices: [] });
  });
});
