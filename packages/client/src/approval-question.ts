/**
 * A question's parts (an approval of kind `question`, asked by `ask_human`), for every surface
 * that shows one: its input is `{ question, choices? }` as the desk stored it (masked). A blank
 * question falls back to the summary; choices that are not text or are blank are left out.
 */
import type { Approval } from './contract/approvals.ts';

export function approvalQuestion(approval: Pick<Approval, 'input' | 'summary'>): { question: string; choices: string[] } {
  const input = (approval.input ?? {}) as { question?: unknown; choices?: unknown };
  const question = typeof input.question === 'string' && input.question.trim() !== '' ? input.question : approval.summary;
  const choices = Array.isArray(input.choices) ? input.choices.filter((c): c is string => typeof c === 'string' && c.trim() !== '') : [];
  return { question, choices };
}
