/**
 * The org chart's layout, computed rather than dragged into place: one column per team (the
 * leader first, then the members in their order), then a column of agents in no team. A small
 * own function instead of dagre/elk: the shape is always columns, and it costs no bundle.
 * An agent in two teams appears in both columns (each placement has its own key).
 */
import type { Agent, Team } from '@tinyagi/client';

export const UNASSIGNED = '__unassigned';
export const COLUMN_WIDTH = 200;
export const COLUMN_GAP = 32;
export const HEADER_HEIGHT = 64;
export const ROW_HEIGHT = 64;
export const NODE_WIDTH = 168;
export const NODE_HEIGHT = 48;
const PAD = 16;

export interface OrgColumn {
  id: string;
  title: string;
  subtitle: string;
  x: number;
  width: number;
  height: number;
}

export interface OrgPlacement {
  key: string;
  agent: string;
  column: string;
  role: 'leader' | 'member' | 'unassigned';
  x: number;
  y: number;
}

export interface OrgLayout {
  columns: OrgColumn[];
  placements: OrgPlacement[];
  width: number;
  height: number;
}

export function layoutOrg(teams: readonly Team[], agents: readonly Agent[]): OrgLayout {
  const assigned = new Set<string>();
  const columns: Array<{ id: string; title: string; subtitle: string; rows: Array<{ agent: string; role: OrgPlacement['role'] }> }> = [];
  for (const team of teams) {
    const members = team.agents ?? [];
    const leader = team.leader_agent && members.includes(team.leader_agent) ? team.leader_agent : undefined;
    const rows = [...(leader ? [{ agent: leader, role: 'leader' as const }] : []), ...members.filter((a) => a !== leader).map((agent) => ({ agent, role: 'member' as const }))];
    for (const a of members) assigned.add(a);
    columns.push({ id: team.id, title: team.name || team.id, subtitle: `#${team.id} · ${members.length} member${members.length === 1 ? '' : 's'}`, rows });
  }
  const free = agents.filter((a) => !assigned.has(a.id)).map((a) => ({ agent: a.id, role: 'unassigned' as const }));
  columns.push({ id: UNASSIGNED, title: 'Unassigned', subtitle: free.length === 0 ? 'every agent is in a team' : `${free.length} agent${free.length === 1 ? '' : 's'}`, rows: free });

  const tallest = Math.max(1, ...columns.map((c) => c.rows.length));
  const height = HEADER_HEIGHT + tallest * ROW_HEIGHT + PAD;
  const placements: OrgPlacement[] = [];
  const laid = columns.map((c, i) => {
    const x = i * (COLUMN_WIDTH + COLUMN_GAP);
    c.rows.forEach((row, r) => {
      placements.push({ key: `${c.id}:${row.agent}`, agent: row.agent, column: c.id, role: row.role, x: x + (COLUMN_WIDTH - NODE_WIDTH) / 2, y: HEADER_HEIGHT + r * ROW_HEIGHT });
    });
    return { id: c.id, title: c.title, subtitle: c.subtitle, x, width: COLUMN_WIDTH, height };
  });
  return { columns: laid, placements, width: columns.length * (COLUMN_WIDTH + COLUMN_GAP) - COLUMN_GAP, height };
}

/** The column under a point of the chart (x only: columns span the whole height), if any. */
export function columnAt(layout: OrgLayout, x: number): OrgColumn | undefined {
  return layout.columns.find((c) => x >= c.x && x <= c.x + c.width);
}
