/**
 * What a test must undo (its fakes, adapters and folders), undone last first once the test has
 * finished. Each test keeps its own list, so tests that run side by side (vitest's concurrent
 * tests) never undo each other's.
 */
export type Later = (undo: () => unknown) => void;

/** Makes the test's list; pass the test context's `onTestFinished`. */
export function undoLater(onTestFinished: (fn: () => Promise<void>) => void): Later {
  const undo: Array<() => unknown> = [];
  onTestFinished(async () => {
    for (const u of undo.reverse()) await u();
  });
  return (u) => void undo.push(u);
}
