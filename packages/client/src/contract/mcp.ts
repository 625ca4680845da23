/**
 * TinyAGI over MCP (docs/mcp.md): the tools `tinyagi mcp` offers, named and typed once here.
 * Tool input schemas are zod objects; the MCP SDK turns them into the JSON Schemas clients see,
 * and validates every call against them (a bad call is a tool error naming the field).
 *
 * Two tool sets:
 * - for a person's MCP client (Claude Desktop, Cursor, another agent): see the team, hand it work
 *   and wait for the answer with progress, read a conversation, cancel it — with the API token;
 * - for an agent inside a run (started by a CLI agent with the run's variables): call a
 *   sub-agent and wait, hand off, post to a team room, send a file, ask the person and wait,
 *   read and update the conversation's task, propose and search memory — scoped by the run token,
 *   so a tool acts for its own run only.
 */
import * as z from 'zod';
import { MEMORY_KINDS, MEMORY_SCOPE_KINDS, MEMORY_TEXT_MAX, type RunRememberBody } from './memory.ts';
import { TASK_STATUSES } from './tasks.ts';

const Id = z.string().min(1).max(200);
const Message = z.string().min(1).max(200_000);

export const MCP_SERVER_NAME = 'tinyagi';

export const McpSendMessageInput = z.strictObject({
  message: Message.describe('What to ask. `@agent …` / `@team …` prefixes work as in chat.'),
  agent: Id.optional().describe('The agent to send to (see list_agents). Leave out agent and team for the default agent.'),
  team: Id.optional().describe("The team to send to: its leader receives it, with the team's context (see list_teams)."),
  thread: Id.optional().describe('A thread key: agents that keep a session per thread continue the same session.'),
  wait: z.boolean().optional().describe('Wait for the conversation to finish and return the replies (default true).'),
  timeout_s: z.number().int().min(1).max(86_400).optional().describe('How long to wait at most (default 1800).'),
});

export const McpConversationInput = z.strictObject({
  conversation_id: Id.describe('The conversation id send_message returned.'),
});

export const McpCallAgentInput = z.strictObject({
  agent: Id.describe('The teammate to run as a sub-agent of this run.'),
  task: Message.describe('What to ask it; its final reply is returned.'),
  session: Id.optional().describe('Reuse the same sub-agent session across calls with this key.'),
});

export const McpSendToAgentInput = z.strictObject({
  to: z.union([Id, z.array(Id).min(1).max(20)]).describe('The teammate (or teammates) to hand work to.'),
  message: Message.describe('What they should do. Delivered when your turn ends, with the same rules as a [@agent: …] tag.'),
});

export const McpPostToTeamRoomInput = z.strictObject({
  team: Id.describe('The team whose chat room gets the post (you must be a member).'),
  message: Message.describe('The post; every other member receives it when your turn ends.'),
});

export const McpSendFileInput = z.strictObject({
  path: z.string().min(1).max(4096).describe('Absolute path (or relative to your workspace) of a file inside your workspace or TINYAGI_HOME/files.'),
});

export const McpAskHumanInput = z.strictObject({
  question: z.string().min(1).max(20_000).describe('What you want to know from the person. Say enough that they can answer without reading your whole run.'),
  choices: z.array(z.string().min(1).max(200)).max(10).optional().describe('Suggested answers, offered as buttons; the person may still answer in their own words.'),
});

export const McpGetTaskInput = z.strictObject({});

export const McpUpdateTaskInput = z.strictObject({
  status: z.enum(TASK_STATUSES).optional().describe('Move the task: in_progress while you work, review when a person should check it, done when it is finished.'),
  comment: z.string().min(1).max(100_000).optional().describe('A note on the task (what you did, what is left), signed as you.'),
});

export const McpRememberInput = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(MEMORY_TEXT_MAX)
    .describe('What to remember, in a sentence or a few: self-contained, so it reads right months later without this conversation. Never a secret (keys, tokens, passwords are refused).'),
  kind: z.enum(MEMORY_KINDS).describe('fact (how things are), preference (how a person wants things), decision (what was decided and why), procedure (how to do something).'),
  reason: z.string().min(1).max(2000).describe('Why it is worth remembering: the person reviewing the proposal reads this.'),
  scope: z.enum(MEMORY_SCOPE_KINDS).optional().describe("Whose memory: your own (agent, the default), a team you belong to (team, with scope_id), or your task's project (project)."),
  scope_id: Id.optional().describe('The team id (scope team).'),
  replaces: Id.optional().describe('The id of an entry this one corrects or contradicts (from recall or the memory block): it is retired when the proposal is accepted.'),
});
export type McpRememberArgs = z.infer<typeof McpRememberInput>;

/** The `remember` tool's arguments as the run's memory route takes them (`rememberForRun`): the tool and the mock's `remember` action send this. */
export function rememberBodyOf(args: McpRememberArgs): RunRememberBody {
  return {
    text: args.text,
    kind: args.kind,
    reason: args.reason,
    ...(args.scope ? { scope: args.scope } : {}),
    ...(args.scope_id ? { scopeId: args.scope_id } : {}),
    ...(args.replaces ? { replaces: args.replaces } : {}),
  };
}

export const McpRecallInput = z.strictObject({
  query: z.string().min(1).max(1000).describe("Words to search for in the memory you read (yours, your teams', your project's)."),
  limit: z.number().int().min(1).max(50).optional().describe('How many entries at most (default 10).'),
});

export const McpForgetInput = z.strictObject({
  id: Id.describe('The id of the entry to forget (from recall or the memory block).'),
  reason: z.string().min(1).max(2000).describe('Why it should be forgotten (outdated, wrong): the person reviewing it reads this.'),
});

export const McpStartWorkflowInput = z.strictObject({
  name: Id.describe('The registered workflow to start (a person registers them; a refusal lists the ones you may start).'),
  input: z.unknown().optional().describe("The workflow's input, any JSON value; checked against the workflow's input schema when it has one."),
});

export const McpWorkflowStatusInput = z.strictObject({
  run_id: Id.describe('The run id start_workflow returned.'),
});

/**
 * Claude Code's `--permission-prompt-tool` call (per-message agents with `permission_mode: "ask"`,
 * docs/approvals.md): the tool call it is about to make. Not strict: Claude Code may add fields.
 */
export const McpApprovalPromptInput = z.object({
  tool_name: z.string().min(1).max(200).describe('The tool Claude Code is about to call (`Bash`, `Edit`, `mcp__github__create_issue`).'),
  input: z.record(z.string(), z.unknown()).describe('Its input.'),
  tool_use_id: z.string().max(200).optional().describe("The call's id."),
});

/** The tool that answers Claude Code's permission prompts (`mcp__tinyagi__approval_prompt`). */
export const MCP_APPROVAL_PROMPT_TOOL = 'approval_prompt';

/** The tools for a person's MCP client. */
export const MCP_CLIENT_TOOLS = {
  list_agents: { title: 'List agents', description: 'The agents of this TinyAGI: id, name, runtime, model and teams.', input: z.strictObject({}) },
  list_teams: { title: 'List teams', description: 'The teams: id, name, leader and members.', input: z.strictObject({}) },
  send_message: {
    title: 'Send a message to an agent or team',
    description: 'Hands work to an agent or a team and (by default) waits until the conversation is finished, reporting progress; returns the replies and the conversation id.',
    input: McpSendMessageInput,
  },
  get_conversation: {
    title: 'Read a conversation',
    description: "A conversation's status, its tree of runs (agents, status, usage) and its transcript.",
    input: McpConversationInput,
  },
  cancel_conversation: { title: 'Cancel a conversation', description: 'Ends every open run and queued message of the conversation.', input: McpConversationInput },
} as const;

/** The tools for an agent inside a run. */
export const MCP_AGENT_TOOLS = {
  call_agent: {
    title: 'Call a teammate and wait',
    description:
      'Runs a teammate as a sub-agent of your current run and returns its final reply (the same depth cap, budgets and session reuse as `tinyagi call`). Prefer this to running `tinyagi call` in a shell.',
    input: McpCallAgentInput,
  },
  send_to_agent: {
    title: 'Hand off to a teammate',
    description: 'Hands work to one or more teammates when your turn ends: the same routing, limits and guards as a [@agent: …] tag in your reply. Returns what will happen.',
    input: McpSendToAgentInput,
  },
  post_to_team_room: {
    title: "Post to a team's chat room",
    description: 'Posts to the chat room of a team you belong to when your turn ends (like a [#team: …] tag).',
    input: McpPostToTeamRoomInput,
  },
  send_file: {
    title: 'Send a file to the person',
    description: 'Attaches a file from your workspace (or TINYAGI_HOME/files) to your answer (like a [send_file: …] marker).',
    input: McpSendFileInput,
  },
  ask_human: {
    title: 'Ask the person and wait',
    description:
      'Asks the person a question and waits for their answer (they answer from TinyOffice, the terminal or their chat app), then returns it. Use it when you cannot go on without a decision or information only they have; it may take minutes. If they decline or nobody answers in time, the tool says so: go on with your best judgement or stop.',
    input: McpAskHumanInput,
  },
  get_task: {
    title: 'Read your task',
    description:
      "The task (board card) this conversation works on: its title, description, status and comments; a review comment names the file and line of the task's diff it is on (`on`: `src/login.ts:12`). Says so when the conversation works on no task.",
    input: McpGetTaskInput,
  },
  update_task: {
    title: 'Update your task',
    description: 'Moves the task this conversation works on to another status and/or adds a comment to it, signed as you.',
    input: McpUpdateTaskInput,
  },
  remember: {
    title: 'Propose a memory',
    description:
      "Proposes something worth remembering beyond this conversation (a fact, a preference, a decision, a procedure) for your own, your team's or your project's memory. A person reviews it (or a rule accepts it); accepted entries are put before your later turns when relevant. Says whether it was accepted and which entries it seems to contradict.",
    input: McpRememberInput,
  },
  recall: {
    title: 'Search memory',
    description: "Searches the accepted memory you read (your own, your teams', your task's project's) and returns the most relevant entries with their ids.",
    input: McpRecallInput,
  },
  forget: {
    title: 'Propose to forget a memory',
    description: 'Proposes to retire an entry that is wrong or outdated; a person decides. To correct an entry, prefer remember with `replaces`.',
    input: McpForgetInput,
  },
  start_workflow: {
    title: 'Start a registered workflow',
    description:
      'Starts a workflow the person registered for you by name, with an input; returns the run id at once (the workflow goes on without you) and what the run is forecast to cost. Its agent steps may reach only the agents you may call. Follow it with workflow_status.',
    input: McpStartWorkflowInput,
  },
  workflow_status: {
    title: 'A workflow run’s status',
    description: 'The status of a workflow run you started: running, paused, completed (with its result), failed or cancelled (with the reason), and its steps done of all.',
    input: McpWorkflowStatusInput,
  },
  approval_prompt: {
    title: 'Permission prompt (Claude Code)',
    description: "Claude Code calls this before a tool call its permission mode does not allow by itself (--permission-prompt-tool): the agent's rules or a person decide. Not for the model to call.",
    input: McpApprovalPromptInput,
  },
} as const;

export type McpClientToolName = keyof typeof MCP_CLIENT_TOOLS;
export type McpAgentToolName = keyof typeof MCP_AGENT_TOOLS;
