/**
 * The transcript of a conversation: every message in its run tree, in order, as data (for the
 * API) and as markdown (for export). Built from the runs table: a run's `input` is what its
 * agent received and its `output` what it answered; the sender of an input is the parent run's
 * agent, or the human for a root run. Steering commands (their `run.steered` events) are
 * entries of their own, from whoever sent them: an injected message, a redirect, a pause.
 */
import type { RunSteerEntry } from '@tinyagi/client';
import type { ConversationRecord, RunRecord } from '@tinyagi/core';

export interface TranscriptEntry {
  ts: number;
  runId: string;
  parentRunId: string | null;
  depth: number;
  /** `in`: what the run received; `out`: what it answered. */
  direction: 'in' | 'out';
  /** `@agent`, or the human's name for human input. */
  from: string;
  to: string;
  cause: RunRecord['cause'];
  status: RunRecord['status'];
  text: string;
  /** A steering command sent to the run (`from` is who sent it). */
  steering?: { command: RunSteerEntry['command']; by: string };
}

const STEER_WORDS: Record<RunSteerEntry['command'], string> = { inject: 'Injected', redirect: 'Redirected (replaces the task)', pause: 'Paused', resume: 'Resumed', cancel: 'Cancelled' };

/** The words of a steering entry: what was sent, and what it does for the run's provider. */
function steerText(entry: RunSteerEntry): string {
  const head = `[${STEER_WORDS[entry.command]}]${entry.text ? ` ${entry.text}` : ''}`;
  return entry.effect ? `${head}\n(${entry.effect})` : head;
}

export function buildTranscript(conversation: ConversationRecord, runs: readonly RunRecord[], steering: ReadonlyMap<string, readonly RunSteerEntry[]> = new Map()): TranscriptEntry[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const human = conversation.sender || conversation.senderId || 'human';
  const entries: TranscriptEntry[] = [];
  for (const run of runs) {
    const parent = run.parentRunId ? byId.get(run.parentRunId) : undefined;
    const base = { runId: run.id, parentRunId: run.parentRunId, depth: run.depth, cause: run.cause, status: run.status };
    const sender = parent ? `@${parent.agentId}` : run.cause === 'user' ? human : run.cause;
    if (run.input !== null && run.input !== '') {
      entries.push({ ...base, ts: run.createdAt, direction: 'in', from: sender, to: `@${run.agentId}`, text: run.input });
    }
    for (const entry of steering.get(run.id) ?? []) {
      entries.push({ ...base, ts: entry.ts, direction: 'in', from: entry.by, to: `@${run.agentId}`, text: steerText(entry), steering: { command: entry.command, by: entry.by } });
    }
    if (run.output !== null && run.output !== '') {
      entries.push({ ...base, ts: run.endedAt ?? run.createdAt, direction: 'out', from: `@${run.agentId}`, to: run.cause === 'spawn' ? sender : human, text: run.output });
    } else if (run.status === 'rejected' || run.status === 'failed' || run.status === 'cancelled') {
      entries.push({ ...base, ts: run.endedAt ?? run.createdAt, direction: 'out', from: `@${run.agentId}`, to: sender, text: `(${run.status}${run.error ? `: ${run.error}` : ''})` });
    }
  }
  return entries.sort((a, b) => a.ts - b.ts);
}

export function transcriptToMarkdown(conversation: ConversationRecord, entries: readonly TranscriptEntry[]): string {
  const lines = [
    `# ${conversation.title || `Conversation ${conversation.id}`}`,
    '',
    [
      `- Conversation: \`${conversation.id}\``,
      conversation.teamId ? `- Team: #${conversation.teamId}` : undefined,
      `- Started: ${new Date(conversation.createdAt).toISOString()} on ${conversation.channel}`,
      `- Status: ${conversation.status}${conversation.stopReason ? ` (${conversation.stopReason})` : ''}`,
      `- Usage: ${conversation.inputTokens + conversation.outputTokens} tokens, $${conversation.costUsd.toFixed(4)}, ${conversation.messageCount} agent messages`,
    ]
      .filter((l): l is string => l !== undefined)
      .join('\n'),
    '',
  ];
  for (const entry of entries) {
    const indent = '  '.repeat(entry.depth);
    const time = new Date(entry.ts).toISOString().slice(11, 19);
    const what = entry.steering ? ' · steering' : entry.cause === 'spawn' && entry.direction === 'in' ? ' · sub-agent call' : '';
    lines.push(`${indent}**${entry.from} → ${entry.to}** · ${time}${what}`, '');
    for (const line of entry.text.split('\n')) lines.push(`${indent}> ${line}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
