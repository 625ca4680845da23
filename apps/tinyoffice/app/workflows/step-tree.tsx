'use client';
/**
 * A workflow run's steps as a WAI-ARIA tree (@tinyagi/client's workflowStepTree builds it from the
 * step ids; lib/tree-keys.ts gives it the arrow keys): a `parallel`, `map` or `pipeline` call is a
 * group that opens and closes, its branches under it, the steps under them. A step shows its state,
 * agent, cost, tokens and time, what it was asked, its error, its output (folded; anything but
 * text as indented JSON) and a link to its conversation.
 */
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { workflowStepTree, type WorkflowStep, type WorkflowTreeNode } from '@tinyagi/client';
import { onTreeKey } from '@/lib/tree-keys';
import { useNow } from '@/lib/use-now';
import { StatusPill, duration, money, plural } from '@/components/ui';
import { FoldedValue } from './folded-value';

/** A group with more children than this starts closed (a `map` over many items). */
const OPEN_UP_TO = 20;

export function StepTree({ steps, runName }: { steps: readonly WorkflowStep[]; runName: string }) {
  const roots = useMemo(() => workflowStepTree(steps), [steps]);
  const now = useNow(steps.some((s) => s.status === 'running'));
  return (
    <div role="tree" aria-label={`Steps of ${runName}`} data-testid="step-tree" className="text-sm" onKeyDown={onTreeKey}>
      {roots.map((node, i) => (
        <StepNode key={node.id} node={node} level={0} first={i === 0} now={now} />
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

function StepNode({ node, level, first = false, now }: { node: WorkflowTreeNode; level: number; first?: boolean; now: number }) {
  const [open, setOpen] = useState(node.children.length <= OPEN_UP_TO);
  const hasChildren = node.children.length > 0;
  const step = node.step;
  const status = step?.status ?? node.totals.status;
  const name = node.kind === 'branch' ? branchName(node) : node.name;
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
      data-kind={node.kind}
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
        <span className={`font-medium ${node.kind === 'branch' ? '' : 'font-mono'}`}>{name}</span>
        {step ? (
          <span className="text-slate-700 dark:text-slate-300">{step.agentId ? `@${step.agentId}` : 'step'}</span>
        ) : (
          node.kind === 'group' && <span className="text-xs text-slate-600 dark:text-slate-300">{plural(node.children.length, 'branch', 'branches')}</span>
        )}
        <StatusPill status={status} />
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
      {step && <StepBody step={step} name={node.name} indent={level} />}
      {hasChildren && open && (
        // biome-ignore lint/a11y/useSemanticElements: a tree item's children are a role="group" in the WAI-ARIA tree pattern; a <fieldset> would announce a form grouping
        <div role="group">
          {node.children.map((child) => (
            <StepNode key={child.id} node={child} level={level + 1} now={now} />
          ))}
        </div>
      )}
    </div>
  );
}

/** What the step was asked, its error and its output (folded). */
function StepBody({ step, name, indent }: { step: WorkflowStep; name: string; indent: number }) {
  return (
    <div className="space-y-1 pr-1 pb-1 text-xs" style={{ paddingLeft: `${Math.min(indent, 8) * 1.25 + 2}rem` }}>
      {step.label && step.label !== name && <p className="line-clamp-3 break-words text-slate-700 dark:text-slate-300">{step.label}</p>}
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
