/**
 * The settings-editing service: pure edits `(settings, …) -> settings` that throw TinyError,
 * shared by the API routes and the CLI when no daemon runs. Apply them inside core's locked
 * updateSettings, which validates the whole result before the atomic write.
 */
export { requireAgent, requireTeam, requireCustomProvider } from './entities.ts';
export { addAgent, agentConfig, createAgent, putAgent, type AgentWrite, patchAgent, setAgentHeartbeat, deleteAgent, teamsReferencingAgent } from './agents.ts';
export { createTeam, putTeam, patchTeam, deleteTeam } from './teams.ts';
export {
  setBuiltinProvider,
  putCustomProvider,
  deleteCustomProvider,
  customProviderUsers,
  type BuiltinCredentialProvider,
  type BuiltinProviderChange,
} from './providers.ts';
export { patchSettings, channelsPatch, type ChannelsChange } from './settings.ts';
