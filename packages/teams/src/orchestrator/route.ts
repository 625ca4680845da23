/**
 * The route stage of the pipeline (process-batch.ts): what a finished invocation's answer does,
 * as data, before the commit. `routeAnswer` is pure (no database, no I/O): it parses the tags,
 * plans the routes (handoffs, chat-room posts, notes for the agent) and words what the human is
 * told about refused files and tags not delivered. Its inputs that touch the outside are read
 * before it: the files the answer names are checked against the filesystem (`checkAnswerFiles`),
 * and afterwards the outgoing plugins rewrite the human's text (`applyOutgoing`).
 */
import type { QueueMessage, RunRecord, Settings } from '@tinyagi/core';
import { agentWorkspaceDir, partitionFiles, type RefusedFile } from '../core-internal.ts';
import { answersHuman } from '../conversations/replies.ts';
import { parseTags } from '../protocol/tags.ts';
import { toReadable, type ReadableReply } from '../protocol/readable.ts';
import { planRoutes, type RoutePlan } from '../router/plan.ts';
import { readMeta, type MessageProvenance } from '../router/provenance.ts';
import type { Ctx } from './context.ts';
import type { DeclaredActions } from './context.ts';
import { withDeclared } from './run-actions.ts';
import { applyPluginHooks, type PluginCtx } from './plugins.ts';

/** What the answer does, worked out before the commit (no database read). */
export interface RoutedAnswer {
  /** The text for the human (outgoing plugins applied, a note on refused files and tags not delivered added). */
  humanText: string;
  plan: RoutePlan;
  /** Files that may be sent, and those refused (outside the workspace and TINYAGI_HOME/files). */
  files: string[];
  refused: RefusedFile[];
}

/** The route stage's result before the outgoing plugins: the readable answer, and the note on refused files to add after them. */
export interface Routed {
  /** The answer with its tags made readable (what the outgoing plugins see). */
  text: string;
  /** Added to the human's text after the plugins when the run answers the human: the files not sent and the tags not delivered, a line each. */
  humanNote: string | undefined;
  plan: RoutePlan;
  files: string[];
  refused: RefusedFile[];
}

/** The files an answer names, checked against the allowed directories (the filesystem is read). */
export interface FileCheck {
  /** The agent's workspace ('' when the answer names no file: not resolved then). */
  workspace: string;
  filesDir: string | undefined;
  allowed: string[];
  refused: RefusedFile[];
}

export interface RouteInput {
  run: RunRecord;
  /** The messages the run answered (their provenance guards ping-pong and hops). */
  messages: readonly QueueMessage[];
  settings: Settings;
  /** The agent's answer as the invocation returned it. */
  answer: string;
  /** What the agent's tools declared during the turn (handoffs, chat-room posts), merged with its tags. */
  declared?: DeclaredActions | undefined;
  /** `toReadable(answer)`, made once by the caller (it names the files to check). */
  readable: ReadableReply;
  files: FileCheck;
  /** The agents whose confinement the run took (its messages' and its folder's hold: TurnsResult.confinedBy); absent, its messages'. */
  confinedBy?: readonly string[] | undefined;
}

/** Parses the answer for people: its readable text and the files it asks to send. Pure. */
export function readAnswer(run: Pick<RunRecord, 'agentId'>, answer: string): ReadableReply {
  return toReadable(answer, { self: run.agentId });
}

/**
 * Only the agent's own workspace and TINYAGI_HOME/files: a prompt-injected agent must not be
 * able to mail out settings.json, the API token or ~/.ssh. Reads the filesystem (real paths).
 */
export function checkAnswerFiles(ctx: Pick<Ctx, 'env' | 'filesDir'>, settings: Settings, run: Pick<RunRecord, 'agentId'>, files: readonly string[]): FileCheck {
  const workspace = files.length > 0 ? agentWorkspaceDir(settings, run.agentId, ctx.env) : '';
  const { allowed, refused } = partitionFiles(files, [workspace, ...(ctx.filesDir ? [ctx.filesDir] : [])]);
  return { workspace, filesDir: ctx.filesDir, allowed, refused };
}

/** Works out what the answer does: its routes, files and notes. Pure. */
export function routeAnswer(input: RouteInput): Routed {
  const { run, settings, answer, readable, files } = input;
  const parsed = withDeclared(parseTags(answer, { self: run.agentId }), input.declared, run.agentId);
  const incoming = input.messages.map((m) => readMeta(m)).filter((m): m is MessageProvenance => m !== undefined);
  const plan = planRoutes(parsed, { settings, fromAgent: run.agentId, teamId: input.messages[0]!.teamId, incoming, confinedBy: input.confinedBy });
  const { refused } = files;
  // What the person is told of what stayed behind (a handoff shown as "→ @x" that did not happen, above all).
  const told: string[] = [];
  if (answersHuman(run.cause)) {
    if (refused.length > 0) {
      told.push(
        `${refused.length === 1 ? 'A file' : `${refused.length} files`} @${run.agentId} tried to send ${refused.length === 1 ? 'was' : 'were'} not sent: only files inside its workspace or TINYAGI_HOME/files can be sent.`,
      );
    }
    told.push(...plan.undelivered);
  }
  if (refused.length > 0) {
    const where = `your workspace (${files.workspace})${files.filesDir ? ` or ${files.filesDir}` : ''}`;
    plan.notes.push(...refused.map((r) => `[send_file: ${r.file}] was not sent: it ${r.reason}. Only files inside ${where} can be sent.`));
  }
  return { text: readable.text, humanNote: told.length > 0 ? told.map((line) => `(${line})`).join('\n') : undefined, plan, files: files.allowed, refused };
}

/** The outgoing plugins rewrite the text a human will read; the note on what stayed behind follows. */
export async function applyOutgoing(ctx: PluginCtx, run: RunRecord, routed: Routed): Promise<RoutedAnswer> {
  let humanText = routed.text;
  if (answersHuman(run.cause) && humanText !== '') {
    humanText = await applyPluginHooks(ctx, 'transformOutgoing', humanText, { agentId: run.agentId, conversationId: run.conversationId, runId: run.id, channel: run.channel, sender: '' });
  }
  if (routed.humanNote !== undefined) humanText = `${humanText}${humanText === '' ? '' : '\n\n'}${routed.humanNote}`;
  return { humanText, plan: routed.plan, files: routed.files, refused: routed.refused };
}
