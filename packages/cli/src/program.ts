/**
 * The whole `tinyagi` command tree. Each group lives in src/commands/<group>.ts, in the order of
 * command-groups.ts (which loads one group at a time: a command starts with only its own group
 * loaded, main.ts); heavy modules (the daemon, the server) are imported only by the actions that
 * need them. This tree is what an unknown command (its suggestions) and the tests parse with.
 */
import type { Command } from 'commander';
import { registerAgentCommands } from './commands/agent.ts';
import { registerCallCommand } from './commands/call.ts';
import { registerCancelCommand } from './commands/cancel.ts';
import { registerChannelCommands } from './commands/channel.ts';
import { registerChatCommand } from './commands/chat.ts';
import { registerChatroomCommand } from './commands/chatroom.ts';
import { registerConversationCommands } from './commands/conversation.ts';
import { registerDaemonCommands } from './commands/daemon.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerHeartbeatCommand } from './commands/heartbeat.ts';
import { registerLogsCommand } from './commands/logs.ts';
import { registerOfficeCommands } from './commands/office.ts';
import { registerPairingCommands } from './commands/pairing.ts';
import { registerProviderCommands } from './commands/provider.ts';
import { registerQueueCommands } from './commands/queue.ts';
import { registerScheduleCommands } from './commands/schedule.ts';
import { registerApprovalCommands } from './commands/approvals.ts';
import { registerMemoryCommands } from './commands/memory.ts';
import { registerMcpCommand } from './commands/mcp.ts';
import { registerSendCommand } from './commands/send.ts';
import { registerSessionsCommand } from './commands/sessions.ts';
import { registerStorageCommands } from './commands/storage.ts';
import { registerProjectCommands } from './commands/project.ts';
import { registerTaskCommands } from './commands/task.ts';
import { registerTeamCommands } from './commands/team.ts';
import { registerUsageCommand } from './commands/usage.ts';
import { registerVersionCommand } from './commands/version.ts';
import { registerVisualizeCommand } from './commands/visualize.ts';
import { registerWorkflowCommands } from './commands/workflow.ts';
import { createRootCommand } from './program-root.ts';
import { registerBuiltinKinds } from './kinds.ts';

export function buildProgram(): Command {
  // The channel kinds name the `channel` commands' choices and flags.
  registerBuiltinKinds();
  const program = createRootCommand();

  registerDaemonCommands(program);
  registerSendCommand(program);
  registerMcpCommand(program);
  registerApprovalCommands(program);
  registerMemoryCommands(program);
  registerChatCommand(program);
  registerCallCommand(program);
  registerCancelCommand(program);
  registerAgentCommands(program);
  registerTeamCommands(program);
  registerChatroomCommand(program);
  registerProviderCommands(program);
  registerChannelCommands(program);
  registerPairingCommands(program);
  registerScheduleCommands(program);
  registerHeartbeatCommand(program);
  registerLogsCommand(program);
  registerQueueCommands(program);
  registerTaskCommands(program);
  registerProjectCommands(program);
  registerConversationCommands(program);
  registerWorkflowCommands(program);
  registerUsageCommand(program);
  registerSessionsCommand(program);
  registerOfficeCommands(program);
  registerVisualizeCommand(program);
  registerStorageCommands(program);
  registerDoctorCommand(program);
  registerVersionCommand(program);
  return program;
}
