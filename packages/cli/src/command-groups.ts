/**
 * The `tinyagi` commands by group, in the order of the full tree (program.ts), each group loaded
 * on demand: a command is parsed by a tree with its own group only (main.ts), so `tinyagi status`
 * loads the daemon commands and not the agent editor, the settings validation or the channels.
 * `names` are the group's top-level commands and aliases (test/command-groups.test.ts checks them
 * against what each group registers). An argv with no known command (none, `help` alone, an
 * unknown word: its suggestions need every name) gets the full tree.
 */
import type { Command } from 'commander';

export interface CommandGroup {
  /** Top-level command names and aliases this group registers. */
  names: readonly string[];
  register: () => Promise<(program: Command) => void>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { names: ['start', 'run', 'stop', 'restart', 'worker', 'status'], register: async () => (await import('./commands/daemon.ts')).registerDaemonCommands },
  { names: ['send'], register: async () => (await import('./commands/send.ts')).registerSendCommand },
  { names: ['mcp'], register: async () => (await import('./commands/mcp.ts')).registerMcpCommand },
  { names: ['approvals', 'answer', 'approve', 'deny', 'rounds', 'budget'], register: async () => (await import('./commands/approvals.ts')).registerApprovalCommands },
  { names: ['memory'], register: async () => (await import('./commands/memory.ts')).registerMemoryCommands },
  { names: ['chat'], register: async () => (await import('./commands/chat.ts')).registerChatCommand },
  { names: ['call'], register: async () => (await import('./commands/call.ts')).registerCallCommand },
  { names: ['cancel'], register: async () => (await import('./commands/cancel.ts')).registerCancelCommand },
  { names: ['agent'], register: async () => (await import('./commands/agent.ts')).registerAgentCommands },
  { names: ['team'], register: async () => (await import('./commands/team.ts')).registerTeamCommands },
  { names: ['chatroom'], register: async () => (await import('./commands/chatroom.ts')).registerChatroomCommand },
  { names: ['provider'], register: async () => (await import('./commands/provider.ts')).registerProviderCommands },
  { names: ['channel', 'channels'], register: async () => (await import('./commands/channel.ts')).registerChannelCommands },
  { names: ['pairing'], register: async () => (await import('./commands/pairing.ts')).registerPairingCommands },
  { names: ['schedule'], register: async () => (await import('./commands/schedule.ts')).registerScheduleCommands },
  { names: ['heartbeat'], register: async () => (await import('./commands/heartbeat.ts')).registerHeartbeatCommand },
  { names: ['logs'], register: async () => (await import('./commands/logs.ts')).registerLogsCommand },
  { names: ['queue'], register: async () => (await import('./commands/queue.ts')).registerQueueCommands },
  { names: ['task', 'tasks'], register: async () => (await import('./commands/task.ts')).registerTaskCommands },
  { names: ['project', 'projects'], register: async () => (await import('./commands/project.ts')).registerProjectCommands },
  { names: ['conversation', 'conv', 'runs'], register: async () => (await import('./commands/conversation.ts')).registerConversationCommands },
  { names: ['workflow', 'workflows'], register: async () => (await import('./commands/workflow.ts')).registerWorkflowCommands },
  { names: ['usage'], register: async () => (await import('./commands/usage.ts')).registerUsageCommand },
  { names: ['sessions'], register: async () => (await import('./commands/sessions.ts')).registerSessionsCommand },
  { names: ['office'], register: async () => (await import('./commands/office.ts')).registerOfficeCommands },
  { names: ['visualize'], register: async () => (await import('./commands/visualize.ts')).registerVisualizeCommand },
  { names: ['storage'], register: async () => (await import('./commands/storage.ts')).registerStorageCommands },
  { names: ['doctor'], register: async () => (await import('./commands/doctor.ts')).registerDoctorCommand },
  { names: ['version'], register: async () => (await import('./commands/version.ts')).registerVersionCommand },
];

/**
 * Commands that read no settings and no kind registry (they print, or talk to the daemon through
 * the client): they run without the channel kinds registered, unless TINYAGI_HOME/kinds/ has kind
 * modules (those are loaded for every command, so that one that fails is reported as before).
 */
const WITHOUT_KINDS: ReadonlySet<string> = new Set(['status', 'send', 'version']);

/** What argv asks for: the command it names (after any `--debug`; `help <command>` names it too) and its group, or undefined for the full tree. */
export function commandOf(args: readonly string[]): { name: string; group: CommandGroup; kinds: boolean } | undefined {
  let i = 0;
  while (args[i] === '--debug') i++;
  const name = args[i] === 'help' ? args[i + 1] : args[i];
  const group = name === undefined ? undefined : COMMAND_GROUPS.find((g) => g.names.includes(name));
  return group === undefined || name === undefined ? undefined : { name, group, kinds: !WITHOUT_KINDS.has(name) };
}
