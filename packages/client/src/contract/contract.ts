/** Every JSON route of the API, by operation name (also the OpenAPI operationId and the client method). */
import { agentsContract } from './agents.ts';
import { approvalsContract } from './approvals.ts';
import { conversationsContract } from './conversations.ts';
import { kindsContract } from './kinds.ts';
import { memoryContract } from './memory.ts';
import { messagesContract } from './messages.ts';
import { outboxContract } from './outbox.ts';
import { pairingContract } from './pairing.ts';
import { providersContract } from './providers.ts';
import { quotasContract } from './quotas.ts';
import { runToolsContract } from './run-tools.ts';
import { queueContract } from './queue.ts';
import { schedulesContract } from './schedules.ts';
import { sessionsContract } from './sessions.ts';
import { settingsContract } from './settings.ts';
import { systemContract } from './system.ts';
import { tasksContract } from './tasks.ts';
import { teamsContract } from './teams.ts';
import { usageContract } from './usage.ts';
import { workflowsContract } from './workflows.ts';

export const apiContract = {
  ...systemContract,
  ...messagesContract,
  ...queueContract,
  ...outboxContract,
  ...conversationsContract,
  ...agentsContract,
  ...teamsContract,
  ...providersContract,
  ...settingsContract,
  ...pairingContract,
  ...schedulesContract,
  ...workflowsContract,
  ...tasksContract,
  ...usageContract,
  ...kindsContract,
  ...quotasContract,
  ...sessionsContract,
  ...approvalsContract,
  ...runToolsContract,
  ...memoryContract,
} as const;

export type ApiContract = typeof apiContract;
export type RouteName = keyof ApiContract;
