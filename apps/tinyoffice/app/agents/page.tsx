'use client';
/**
 * Agents: every configured agent (kept current by settings.changed events) and a form to add one.
 * With several nodes (PostgreSQL), a Node column says where each agent runs and whether that
 * node is up (GET /api/status, read again every 10 s while the page is open). When any agent's
 * settings name a sandbox, a Sandbox column says whether its boundary holds (docs/sandbox.md):
 * enforced, degraded with the reason and the fix, or off.
 */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { NodeStatus } from '@tinyagi/client';
import { agentStateText } from '@/lib/agent-state';
import { useNodes } from '@/lib/nodes';
import { isPaused, useStore } from '@/lib/store';
import { AgentForm } from '@/components/agent-form';
import { SandboxCell } from '@/components/sandbox-status';
import { Avatar, Button, Panel, StatusPill } from '@/components/ui';

function NodeCell({ node, nodes }: { node: string | undefined; nodes: NodeStatus[] }) {
  if (node === undefined) return <span className="text-slate-600 dark:text-slate-300">any</span>;
  const state = nodes.find((n) => n.name === node)?.state;
  return (
    <span className="flex items-center gap-1 whitespace-nowrap">
      <span className="font-mono text-xs">{node}</span>
      <StatusPill status={state ?? 'not joined'} />
    </span>
  );
}

export default function AgentsPage() {
  const agents = useStore((s) => s.agents);
  const activity = useStore((s) => s.activity);
  const pausedRuns = useStore((s) => s.pausedRuns);
  const failures = useStore((s) => s.failures);
  const nodes = useNodes();
  const nodeOf = (a: (typeof agents)[number]) => (typeof a.node === 'string' ? a.node : undefined);
  const showNodes = nodes.length > 0 || agents.some((a) => nodeOf(a) !== undefined);
  const showSandbox = agents.some((a) => a.sandboxStatus !== undefined && (a.sandboxStatus.setting !== 'off' || a.sandboxStatus.held !== undefined));
  const router = useRouter();
  const [creating, setCreating] = useState(false);
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">Agents</h1>
        <Button tone="primary" className="ml-auto" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
          {creating ? 'Close' : 'New agent'}
        </Button>
      </div>
      <Panel title="All agents">
        {agents.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-300">
            No agents yet. Create one with “New agent”, or run <code>tinyagi agent add</code>.
          </p>
        ) : (
          // Priority columns: on a phone, provider and model go under the name so that status and
          // heartbeat stay in view; the Node column (several nodes) may still scroll inside the panel.
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm [&_td]:pr-3 [&_th]:pr-3" data-testid="agents-table">
              <thead className="text-xs uppercase text-slate-600 dark:text-slate-300">
                <tr>
                  <th className="py-1">Agent</th>
                  <th>Status</th>
                  <th>Heartbeat</th>
                  <th className="hidden sm:table-cell">Provider</th>
                  <th className="hidden sm:table-cell">Model</th>
                  {showNodes && <th>Node</th>}
                  {showSandbox && <th>Sandbox</th>}
                </tr>
              </thead>
              <tbody>
                {agents.map((a) => {
                  const provider = a.provider ?? <span className="text-slate-600 dark:text-slate-300">default</span>;
                  const model = a.model || <span className="font-sans text-slate-600 dark:text-slate-300">default</span>;
                  return (
                    <tr key={a.id} data-agent-row={a.id} className="border-t border-slate-200 dark:border-slate-800">
                      <td className="py-2">
                        <Link href={`/agents/view?id=${encodeURIComponent(a.id)}`} className="flex flex-wrap items-center gap-x-2 font-medium underline-offset-2 hover:underline">
                          <Avatar id={a.id} size="sm" />@{a.id}
                          {a.name && <span className="font-normal text-slate-600 dark:text-slate-300">{a.name}</span>}
                        </Link>
                        <span className="mt-0.5 block text-xs text-slate-600 sm:hidden dark:text-slate-300">
                          {provider} · <span className="font-mono">{model}</span>
                        </span>
                      </td>
                      <td data-agent-status={a.id} className={failures[a.id] && !activity[a.id]?.working ? 'text-red-800 dark:text-red-300' : ''}>
                        {agentStateText({ working: activity[a.id]?.working === true, paused: isPaused({ activity, pausedRuns }, a.id), failure: failures[a.id] })}
                      </td>
                      <td data-agent-heartbeat={a.id}>{a.heartbeat?.enabled === false ? 'off' : a.heartbeat?.interval ? `every ${a.heartbeat.interval} s` : 'on'}</td>
                      <td className="hidden sm:table-cell">{provider}</td>
                      <td className="hidden font-mono text-xs sm:table-cell">{model}</td>
                      {showNodes && (
                        <td data-agent-node={a.id}>
                          <NodeCell node={nodeOf(a)} nodes={nodes} />
                        </td>
                      )}
                      {showSandbox && (
                        <td data-agent-sandbox={a.id}>
                          <SandboxCell status={a.sandboxStatus} />
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      {creating && (
        <Panel title="New agent">
          <AgentForm agent={null} onSaved={(agent) => router.push(`/agents/view?id=${encodeURIComponent(agent.id)}`)} />
        </Panel>
      )}
    </div>
  );
}
