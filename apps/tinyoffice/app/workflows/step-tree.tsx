'use client';
/**
 * A workflow run's steps as a WAI-ARIA tree (@tinyagi/client's workflowStepTree builds it from the
 * step ids; lib/tree-keys.ts gives it the arrow keys): a `parallel`, `map` or `pipeline` call is a
 * group that opens and closes, its branches under it, the steps under them. A step shows its state,
 * agent, cost, tokens and time, what it was asked, its error, its output (folded; anything but
 * text as indented JSON) and a link to its conversation. A task step shows its task instead
 * (task-step.tsx): passed or failed and why, its identifier linked to the board, the lines it
 * changed; a `wf.bestOf` is one group, "best of N", its candidates' task steps under it and the
 * winner marked once known (best-of.ts).
 */
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { workflowStepTree, type WorkflowStep, type WorkflowTreeNode } from '@tinyagi/client';
import { onTreeKey } from '@/lib/tree-keys';
import { useNow } from '@/lib/use-now';
import { StatusPill, duration, money, plural } from '@/components/ui';
import { type BestOfGroup, bestOfGroup, taskOutcomeOf } from './best-of';
import { FoldedValue } from './folded-value';
import { TaskStepFacts } from './task-step';

/** A group with more children than this starts closed (a `map` over many items). */
const OPEN_UP_TO = 20;

/** `result`: the run's result (null before it completed), for the winner of a best of N. */
export function StepTree({ steps, runName, result }: { steps: readonly WorkflowStep[]; runName: string; result: unknown }) {
  const roots = useMemo(() => workflowStepTree(steps), [steps]);
  const now = useNow(steps.some((s) => s.status === 'running'));
  return (
    <div role="tree" aria-label={`Steps of ${runName}`} data-testid="step-tree" className="text-sm" onKeyDown={onTreeKey}>
      {roots.map((node, i) => (
        <StepNode key={node.id} node={node} level={0} first={i === 0} now={now} result={result} />
      ))}
    </div>
  );
}

/** What a branch of a group is called, by the group's call: `map` items, `pipeline` stages, `parallel` branches. */
function branchName(node: WorkflowTreeNode): string {
  const m = /:?([\w-]*)\[(\d+)\]$/.exec(node.name);
  const word = m?.[1] === 'map' ? 'item' : m?.[1] === 'pipeline' ? 'stage' : 'branch';
  return `${word} ${m?.[2] ?? ''}`.trim();
}

interface StepNodeProps {
  node: WorkflowTreeNode;
  level: number;
  first?: boolean;
  now: number;
  result: unknown;
  /** Its name in a best of N (`candidate 1`), and whether it is the winner. */
  candidate?: { name: string; winner: boolean };
}

/** What a node shows under it: a best of N's candidates straight under the group (not under its parallel's branches), then its other steps. */
function childrenOf(node: WorkflowTreeNode, best: BestOfGroup | null): Array<{ node: WorkflowTreeNode; candidate?: StepNodeProps['candidate'] }> {
  if (!best) return node.children.map((child) => ({ node: child }));
  return [
    ...best.candidates.map((child, i) => ({ node: child, candidate: { name: `candidate ${i + 1}`, winner: best.winner !== null && child.step?.taskId === best.winner } })),
    ...best.rest.map((child) => ({ node: child })),
  ];
}

function StepNode({ node, level, first = false, now, result, candidate }: StepNodeProps) {
  const best = bestOfGroup(node, result);
  const children = childrenOf(node, best);
  const [open, setOpen] = useState(children.length <= OPEN_UP_TO);
  const hasChildren = children.length > 0;
  const step = node.step;
  const outcome = taskOutcomeOf(step);
  const status = step?.status ?? node.totals.status;
  const name = candidate?.name ?? (best ? `best of ${best.size}` : node.kind === 'branch' ? branchName(node) : node.name);
  const indent = { paddingLeft: `${Math.min(level, 8) * 1.25}rem` };
  return (
    // The first root is the tree's tab stop; arrow keys reach the other items (onTreeKey).
    <div
      role="treeitem"
      tabIndex={first ? 0 : -1}
      aria-level={level + 1}
      aria-expanded={hasChildren ? open : undefined}
      aria-selected={false}
      data-step={node.id}
      data-kind={best ? 'best-of' : node.kind}
      data-status={status}
      className="my-1 rounded"
    >
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1 rounded px-1 py-1 hover:bg-slate-50 dark:hover:bg-slate-800/50" style={indent}>
        {hasChildren ? (
          <button type="button" data-toggle aria-label={`${open ? 'Collapse' : 'Expand'} ${name}`} className="w-5 text-slate-600 dark:text-slate-300" onClick={() => setOpen(!open)}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="w-5" />
        )}
        {/* An id as the program has it in monospace; a name made here (branch 1, best of 2, candidate 1) as words. */}
        <span className={`font-medium ${name === node.name ? 'font-mono' : ''}`}>{name}</span>
        {step ? (
          <span className="text-slate-700 dark:text-slate-300">{step.agentId ? `@${step.agentId}` : 'step'}</span>
        ) : (
          node.kind === 'group' && !best && <span className="text-xs text-slate-600 dark:text-slate-300">{plural(node.children.length, 'branch', 'branches')}</span>
        )}
        {/* A task step that ended says how its task did (passed, failed), not only that the step ended. */}
        <StatusPill status={outcome?.outcome ?? status} />
        {step?.kind === 'task' && <TaskStepFacts step={step} outcome={outcome} winner={candidate?.winner ?? false} name={name} />}
        <span className="text-xs text-slate-600 tabular-nums dark:text-slate-300" data-testid="step-totals">
          {step && !hasChildren ? `${duration((step.endedAt ?? now) - step.startedAt)} · ` : `${node.totals.completed}/${node.totals.steps} steps · `}
          {money(node.totals.costUsd)} · {node.totals.tokens.toLocaleString('en-US')} tok
        </span>
        {step?.conversationId && (
          <Link className="text-xs underline" href={`/conversations/view?id=${encodeURIComponent(step.conversationId)}`}>
            conversation<span className="sr-only"> of step {node.name}</span>
          </Link>
        )}
      </div>
      {step && <StepBody step={step} name={name} indent={level} />}
      {hasChildren && open && (
        // biome-ignore lint/a11y/useSemanticElements: a tree item's children are a role="group" in the WAI-ARIA tree pattern; a <fieldset> would announce a form grouping
        <div role="group">
          {children.map((child) => (
            <StepNode key={child.node.id} node={child.node} level={level + 1} now={now} result={result} {...(child.candidate ? { candidate: child.candidate } : {})} />
          ))}
        </div>
      )}
    </div>
  );
}

/** What the step was asked, why its task failed, its error and its output (folded). */
function StepBody({ step, name, indent }: { step: WorkflowStep; name: string; indent: number }) {
  const outcome = taskOutcomeOf(step);
  return (
    <div className="space-y-1 pr-1 pb-1 text-xs" style={{ paddingLeft: `${Math.min(indent, 8) * 1.25 + 2}rem` }}>
      {step.label && step.label !== name && <p className="line-clamp-3 break-words text-slate-700 dark:text-slate-300">{step.label}</p>}
      {outcome?.outcome === 'failed' && (
        <p className="whitespace-pre-wrap break-words text-red-800 dark:text-red-300" data-testid="task-reason">
          Failed: {outcome.reason ?? 'no reason given'}
        </p>
      )}
      {step.error && (
        <p className="whitespace-pre-wrap break-words text-red-800 dark:text-red-300" data-testid="step-error">
          Error: {step.error}
        </p>
      )}
      <FoldedValue
        testId="step-output"
        value={step.output}
        className="text-slate-700 dark:text-slate-300"
        summary={
          <>
            Output<span className="sr-only"> of step {name}</span>
          </>
        }
      />
    </div>
  );
}
