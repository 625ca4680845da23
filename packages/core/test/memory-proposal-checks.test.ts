/**
 * The contradiction check of a memory proposal (core memory/proposal-checks.ts): the closeness of two texts
 * weighs each word by how few candidates use it, so what tells entries apart (a name, a system)
 * counts more than the wording they share. And the kinds each scope's rule accepts.
 */
import type { MemoryRecord } from '@tinyagi/client/contract';
import { describe, expect, it } from 'vitest';
import { SettingsSchema } from '../src/config/schema.ts';
import { contradicted, weightedOverlaps } from '../src/memory/proposal-checks.ts';
import { autoAcceptedKinds } from '../src/memory/scopes.ts';
import { rarestTerms } from '../src/memory/store.ts';

const entry = (id: string, text: string, kind: MemoryRecord['kind'] = 'preference'): MemoryRecord => ({ id, text, kind, status: 'accepted', action: 'remember' }) as MemoryRecord;

describe('contradictions', () => {
  it("a restatement is closest to the same subject's entry, not to another subject's with the same value", () => {
    const candidates = [
      entry('carol', 'Carol Diaz wants replies written in French, even when the thread started in English.'),
      entry('bob', 'Bob Lin wants replies written in German, even when the thread started in English.'),
      entry('ann', 'Ann Park wants replies written in Spanish, even when the thread started in English.'),
      entry('dev', 'Dev Shah wants replies written in Dutch, even when the thread started in English.'),
    ];
    const text = 'Carol Diaz wants replies written in German, even when the thread started in English.';
    const [carol, bob] = weightedOverlaps(
      text,
      candidates.map((c) => c.text),
    );
    expect(carol!).toBeGreaterThan(bob!);
    // Carol's is the entry the proposal offers to replace (Bob's, with the same value, may follow).
    expect(contradicted(text, 'preference', candidates)[0]?.id).toBe('carol');
    // A new subject is not said to contradict the subjects with other values.
    expect(contradicted('Eve Moreau wants replies written in German, even when the thread started in English.', 'preference', candidates).map((c) => c.id)).not.toEqual(
      expect.arrayContaining(['carol']),
    );
    expect(contradicted('Eve Moreau wants replies written in Italian, even when the thread started in English.', 'preference', candidates)).toEqual([]);
    // Another kind, or the same text, is no contradiction.
    expect(contradicted(text, 'fact', candidates)).toEqual([]);
    expect(contradicted(candidates[0]!.text, 'preference', candidates.slice(0, 1))).toEqual([]);
  });

  it('with one candidate the weights are equal: the share of words in common', () => {
    expect(weightedOverlaps('Releases are tagged on Tuesdays now', ['Releases are tagged on Mondays'])).toEqual([2 / 5]);
    expect(weightedOverlaps('', ['anything'])).toEqual([0]);
  });
});

describe('rules', () => {
  it("a scope's rule: an agent's and a team's memory block, a project's under memory.projects", () => {
    const settings = SettingsSchema.parse({
      agents: { ann: { provider: 'mock', memory: { auto_accept: ['fact'] } } },
      teams: { dev: { agents: ['ann'], leader_agent: 'ann', memory: { auto_accept: ['procedure', 'decision'] } } },
      memory: { projects: { prj_web: { auto_accept: ['preference'] } } },
    });
    expect(autoAcceptedKinds(settings, { kind: 'agent', id: 'ann' })).toEqual(['fact']);
    expect(autoAcceptedKinds(settings, { kind: 'team', id: 'dev' })).toEqual(['procedure', 'decision']);
    expect(autoAcceptedKinds(settings, { kind: 'project', id: 'prj_web' })).toEqual(['preference']);
    expect(autoAcceptedKinds(settings, { kind: 'project', id: 'prj_other' })).toEqual([]);
    expect(SettingsSchema.safeParse({ memory: { projects: { prj_web: { auto_accept: ['gossip'] } } } }).success).toBe(false);
  });
});

describe("a turn's search words", () => {
  it('keeps the rarest words while their matches stay within the budget, always the rarest, never a word nothing matches', () => {
    const counted = [
      { term: 'replies', entries: 2698 },
      { term: 'bob', entries: 686 },
      { term: 'language', entries: 0 },
      { term: 'written', entries: 2845 },
      { term: 'lin', entries: 40 },
    ];
    expect(rarestTerms(counted)).toEqual(['lin', 'bob']);
    expect(rarestTerms(counted, 100_000)).toEqual(['lin', 'bob', 'replies', 'written']);
    expect(rarestTerms([{ term: 'common', entries: 5000 }])).toEqual(['common']);
    expect(rarestTerms([{ term: 'none', entries: 0 }])).toEqual([]);
  });
});
