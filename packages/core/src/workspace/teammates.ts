/** The "who is who" block of the system prompt, and how to derive its teams from settings. */
import { ownEntry } from '../config/object-path.ts';

export interface PromptTeamMember {
  id: string;
  name: string;
}

export interface PromptTeam {
  id: string;
  name: string;
  /** Agent id of the team's leader (validated settings always have one). */
  leader?: string | undefined;
  members: readonly PromptTeamMember[];
}

export interface TeammatesSelf {
  agentId: string;
  name?: string | undefined;
  model?: string | undefined;
  provider?: string | undefined;
}

/** The part of settings.json that `teamsOfAgent` reads; `Settings` is assignable to it. */
export interface TeamDirectory {
  agents?: Readonly<Record<string, { name?: string | undefined }>> | undefined;
  teams?: Readonly<Record<string, { name?: string | undefined; agents?: readonly string[] | undefined; leader_agent?: string | undefined }>> | undefined;
}

/** Teams the agent belongs to (as member or leader), ordered by id, members named from settings. */
export function teamsOfAgent(settings: TeamDirectory, agentId: string): PromptTeam[] {
  const teams: PromptTeam[] = [];
  for (const [id, team] of Object.entries(settings.teams ?? {})) {
    const members = team.agents ?? [];
    const leader = team.leader_agent;
    if (!members.includes(agentId) && leader !== agentId) continue;
    const memberIds = leader === undefined || members.includes(leader) ? members : [leader, ...members];
    teams.push({
      id,
      name: team.name ?? id,
      leader,
      members: memberIds.map((memberId) => ({ id: memberId, name: ownEntry(settings.agents, memberId)?.name ?? memberId })),
    });
  }
  return teams.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Teams are rendered in the order given (`teamsOfAgent` sorts them by id) and members in their
 * settings order, so equal inputs always give the same text.
 */
export function formatTeammates(self: TeammatesSelf, teams: readonly PromptTeam[], isLeaderOf: readonly string[]): string {
  const runsOn = [self.provider, self.model].filter((part): part is string => part !== undefined && part !== '');
  const lines = [
    `You are @${self.agentId} (${self.name ?? self.agentId})${runsOn.length > 0 ? `, running on ${runsOn.join(' / ')}` : ''}.` +
      (isLeaderOf.length > 0 ? ` You lead ${isLeaderOf.map((id) => `#${id}`).join(', ')}.` : ''),
  ];
  if (teams.length === 0) {
    lines.push('', 'You are not in a team, so there is nobody to tag: answer the human directly.');
    return lines.join('\n');
  }
  for (const team of teams) {
    lines.push('', `Team #${team.id} (${team.name}):`);
    for (const member of team.members) {
      const marks = [member.id === team.leader ? 'leader' : '', member.id === self.agentId ? 'you' : ''].filter((mark) => mark !== '');
      lines.push(`- @${member.id} (${member.name})${marks.length > 0 ? ` [${marks.join(', ')}]` : ''}`);
    }
  }
  if (teams.length > 1) {
    lines.push('', 'When a message comes through one of your teams, tag only members of that team.');
  }
  return lines.join('\n');
}
