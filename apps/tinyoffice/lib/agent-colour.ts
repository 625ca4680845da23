/**
 * One colour per agent everywhere: its avatar and its series in the usage chart take the same
 * hue, picked from its id. The avatar's shade (white initials on it) and the chart's (a graphic
 * on white and on slate-900) differ in lightness, not in hue.
 */

/** How many hues there are: the avatars' and the chart's lists have this many, in the same order. */
export const AGENT_HUES = 8;

/** The hue of an agent: an index below AGENT_HUES, stable for its id. */
export function agentHue(id: string): number {
  let h = 0;
  for (const ch of id) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  h = (h ^ (h >>> 7)) >>> 0;
  return h % AGENT_HUES;
}
