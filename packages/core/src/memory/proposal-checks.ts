/**
 * The checks every memory write passes, whichever surface asks (docs/memory.md): a secret-looking
 * text is refused (the secrets masker's patterns: what it would mask must not be remembered), a
 * proposal close to an accepted entry of the same scope and kind is said to contradict it, and a
 * message becomes the plain words a full-text search looks for.
 */
import { TinyError } from '../errors.ts';
import { maskSecretsInText } from '../approvals/mask.ts';
import type { MemoryRecord } from './store.ts';

/** Refuses a text the secrets masker would change: a key, a token, a password in a URL or an assignment. */
export function refuseSecret(text: string): void {
  if (maskSecretsInText(text) === text) return;
  throw new TinyError('VALIDATION_FAILED', 'This memory looks like it holds a secret (a key, token or password): secrets are never remembered.', {
    hint: 'Remember where the secret is kept (an environment variable, a vault), not its value.',
  });
}

/** Words that say nothing about what a message is about: left out of searches and of the similarity of two entries. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have he her his how i if in into is it its me my no not of on or our she so ' +
    'than that the their them then there these they this to too us was we were what when where which who why will with would you your about also any just ' +
    'should some such very let please thanks hi hello ok yes'
  ).split(' '),
);
/** At most this many words of a message are searched (a long message keeps its first distinct words). */
export const MAX_SEARCH_TERMS = 32;

/** The distinct content words of a text, lower-cased, letters and digits only (safe in FTS5 and tsquery syntax). */
export function searchTerms(text: string, max = MAX_SEARCH_TERMS): string[] {
  const seen = new Set<string>();
  for (const word of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (word.length < 2 || STOP_WORDS.has(word) || seen.has(word)) continue;
    seen.add(word);
    if (seen.size >= max) break;
  }
  return [...seen];
}

/**
 * How close a text is to each candidate: the share of their distinct content words they have in
 * common, each word weighted by 1 / the number of candidates it is in (1 for a word in none). A
 * word every candidate uses ("prefers", "runs on") weighs little, a word few use (a name, a
 * system) weighs much: "Carol wants French" is close to "Carol wants German", not to "Bob wants
 * French". With one candidate every word weighs 1 (the plain share of words in common).
 */
export function weightedOverlaps(text: string, candidates: readonly string[]): number[] {
  const words = (t: string) => new Set(searchTerms(t, 200));
  const mine = words(text);
  const theirs = candidates.map(words);
  const df = new Map<string, number>();
  for (const set of theirs) for (const word of set) df.set(word, (df.get(word) ?? 0) + 1);
  const weight = (word: string) => 1 / Math.max(1, df.get(word) ?? 0);
  return theirs.map((set) => {
    let both = 0;
    let either = 0;
    for (const word of mine) {
      if (set.has(word)) both += weight(word);
      either += weight(word);
    }
    for (const word of set) if (!mine.has(word)) either += weight(word);
    return either === 0 ? 0 : both / either;
  });
}

/** From this weighted overlap on, a proposal is said to contradict an accepted entry of its scope and kind (and offers to replace it). */
export const CONTRADICTION_OVERLAP = 0.4;

/** The accepted entries a proposal seems to contradict, closest first: same scope, same kind, close wording (weightedOverlaps), different text. */
export function contradicted(text: string, kind: MemoryRecord['kind'], candidates: readonly MemoryRecord[]): MemoryRecord[] {
  const same = candidates.filter((c) => c.kind === kind && c.status === 'accepted' && c.action === 'remember' && c.text.trim() !== text.trim());
  const overlaps = weightedOverlaps(
    text,
    same.map((c) => c.text),
  );
  return same
    .map((c, i) => ({ c, overlap: overlaps[i]! }))
    .filter((x) => x.overlap >= CONTRADICTION_OVERLAP)
    .sort((a, b) => b.overlap - a.overlap)
    .map((x) => x.c);
}
