/**
 * Teams and agents live in settings.json: after an edit here, and when `settings.changed` says
 * someone else edited them (CLI, another tab, a hand edit), the store reloads both.
 */
import { api } from './api';
import { setState } from './store';
import { useLiveEvents } from './use-events';

export async function reloadTeamsAndAgents(): Promise<void> {
  const [teams, agents] = await Promise.all([api().listTeams(), api().listAgents()]);
  setState({ teams, agents });
}

export function useSettingsReload(): void {
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'settings.changed')) reloadTeamsAndAgents().catch(() => {});
  });
}
