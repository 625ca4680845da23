/**
 * The `tinyagi` command tree. Each group lives in src/commands/<group>.ts; heavy modules (the
 * daemon, the server) are imported only by the commands that need them, so `--help` and
 * client commands start fast.
 */
import { Command } from 'commander';
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
import { registerMcpCommand } from './commands/mcp.ts';
import { registerSendCommand } from './commands/send.ts';
import { registerSessionsCommand } from './commands/sessions.ts';
import { registerTeamCommands } from './commands/team.ts';
import { registerUsageCommand } from './commands/usage.ts';
import { registerVersionCommand } from './commands/version.ts';
import { registerVisualizeCommand } from './commands/visualize.ts';
import { errStyle } from './output/style.ts';
import { VERSION } from './version.ts';
import { registerBuiltinKinds } from './kinds.ts';

export function buildProgram(): Command {
  // The channel kinds name the `channel` commands' choices and flags.
  registerBuiltinKinds();
  const program = new Command('tinyagi')
    .description('Run TinyAGI, a team of AI agents, and talk to it from the terminal.\nWith no command, `tinyagi` starts the daemon.')
    .version(VERSION, '-v, --version', 'print the version')
    .option('--debug', 'print stack traces and causes of errors')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(errStyle.red(text)) })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .helpCommand('help [command]', 'show help for a command');

  registerDaemonCommands(program);
  registerSendCommand(program);
  registerMcpCommand(program);
  registerApprovalCommands(program);
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
  registerConversationCommands(program);
  registerUsageCommand(program);
  registerSessionsCommand(program);
  registerOfficeCommands(program);
  registerVisualizeCommand(program);
  registerDoctorCommand(program);
  registerVersionCommand(program);
  return program;
}
