'use client';
/** Agents: every configured agent (kept current by settings.changed events) and a form to add one. */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useStore } from '@/lib/store';
import { AgentForm } from '@/components/agent-form';
import { Avatar, Button, Panel } from '@/components/ui';

export default function AgentsPage() {
  const agents = useStore((s) => s.agents);
  const activity = useStore((s) => s.activity);
  const router = useRouter();
  const [creating, setCreating] = useState(false);
  return (
    <div className="space-y-4">
      <Panel
        title="Agents"
        actions={
          <Button tone="primary" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
            {creating ? 'Close' : 'New agent'}
          </Button>
        }
      >
        {agents.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-300">
            No agents yet. Create one with “New agent”, or run <code>tinyagi agent add</code>.
          </p>
        ) : (
          <table className="w-full text-left text-sm" data-testid="agents-table">
            <thead className="text-xs uppercase text-slate-600 dark:text-slate-300">
              <tr>
                <th className="py-1">Agent</th>
                <th>Provider</th>
                <th>Model</th>
                <th>Heartbeat</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.id} data-agent-row={a.id} className="border-t border-slate-200 dark:border-slate-800">
                  <td className="py-2">
                    <Link href={`/agents/view?id=${encodeURIComponent(a.id)}`} className="flex items-center gap-2 font-medium underline-offset-2 hover:underline">
                      <Avatar id={a.id} size="sm" />@{a.id}
                      {a.name && <span className="font-normal text-slate-600 dark:text-slate-300">{a.name}</span>}
                    </Link>
                  </td>
                  <td>{a.provider ?? <span className="text-slate-600 dark:text-slate-300">default</span>}</td>
                  <td className="font-mono text-xs">{a.model || <span className="font-sans text-slate-600 dark:text-slate-300">default</span>}</td>
                  <td>{a.heartbeat?.enabled === false ? 'off' : a.heartbeat?.interval ? `every ${a.heartbeat.interval} s` : 'on'}</td>
                  <td>{activity[a.id]?.working ? 'working' : 'idle'}</td>
                </tr>
              ))}
            </tbody>
          </table>
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
