/** A V8 CPU profile, as node's `--cpu-prof` writes it and the inspector's `Profiler.stop` returns it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  hitCount?: number;
}

/** Each sample's node with its time in ms: the gap to the next sample (the last one's is 0). */
export function* samplesOf(profile: CpuProfile): Generator<[ProfileNode, number]> {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const [i, id] of profile.samples.entries()) yield [nodes.get(id)!, (profile.timeDeltas[i + 1] ?? 0) / 1000];
}
