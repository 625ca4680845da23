/**
 * A conversation's run tree as indented text:
 *   ✔ coder  completed  1.2s  340 tok
 *   └─ ✔ reviewer  completed  …
 * with what memory a run got before its turn (`memory: 2 entries, 120/1000 tok`).
 */
import { conversationStatus, type ConversationTree, type RunNode } from '@tinyagi/client';
import { DECISION_HINT } from '../conversation-watch.ts';
import { formatDuration, plural, println } from './print.ts';
import { style } from './style.ts';

const MARK: Record<string, string> = {
  completed: style.green('✔'),
  running: style.cyan('●'),
  queued: style.dim('○'),
  failed: style.red('✖'),
  cancelled: style.yellow('⊘'),
  rejected: style.yellow('⊘'),
};

function line(run: RunNode): string {
  const took = run.startedAt !== null && run.endedAt !== null ? formatDuration(run.endedAt - run.startedAt) : '';
  const tokens = run.inputTokens + run.outputTokens;
  const parts = [
    `${MARK[run.status] ?? '?'} ${style.bold(run.agentId)}`,
    run.status,
    style.dim(run.cause),
    run.node ? style.dim(`on ${run.node}`) : '',
    took,
    tokens > 0 ? `${tokens} tok` : '',
    run.costUsd > 0 ? `$${run.costUsd.toFixed(4)}` : '',
    run.memory ? style.dim(`memory: ${plural(run.memory.entryIds.length, 'entry', 'entries')}, ${run.memory.tokens}/${run.memory.budget} tok`) : '',
    run.error ? style.red(run.error.split('\n')[0] ?? '') : '',
  ];
  return parts.filter((p) => p !== '').join('  ');
}

export function printRunTree(tree: ConversationTree): void {
  const c = tree.conversation;
  println(`${style.bold(c.title || c.id)}  ${style.dim(c.id)}  ${conversationStatus(c)}${c.stopReason ? ` (${c.stopReason})` : ''}`);
  if (c.awaitingDecision) println(style.yellow(`It ${DECISION_HINT}`));
  const walk = (run: RunNode, prefix: string, last: boolean, top: boolean): void => {
    println(`${prefix}${top ? '' : last ? '└─ ' : '├─ '}${line(run)}`);
    const childPrefix = top ? prefix : `${prefix}${last ? '   ' : '│  '}`;
    for (const [i, child] of run.children.entries()) walk(child, childPrefix, i === run.children.length - 1, false);
  };
  for (const [i, root] of tree.roots.entries()) walk(root, '', i === tree.roots.length - 1, true);
  if (tree.roots.length === 0) println(style.dim('(no runs yet)'));
}
