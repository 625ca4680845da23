/**
 * A small seeded PRNG (mulberry32) for reliability tests: the same seed gives the same plan,
 * so a failure printed with its seed can be replayed.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick(items) {
      if (items.length === 0) throw new RangeError('pick() needs at least one item');
      return items[Math.floor(next() * items.length)]!;
    },
  };
}

/** The seed from `envName` when set (to replay a failure), else a fresh random one. */
export function seedFromEnv(envName: string): number {
  const fromEnv = process.env[envName]?.trim();
  if (fromEnv) {
    const seed = Number(fromEnv);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${envName} must be a non-negative integer, got ${JSON.stringify(fromEnv)}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}
