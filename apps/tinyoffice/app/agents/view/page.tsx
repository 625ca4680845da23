'use client';
/**
 * One agent, in tabs (?id=<agent>&tab=<tab>, a static export has no dynamic routes): its
 * settings, chat, system prompt (AGENTS.md), memory, heartbeat, schedules, skills and usage.
 */
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { type KeyboardEvent, Suspense, useRef, useState } from 'react';
import type { Agent } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { setState, useStore } from '@/lib/store';
import { AgentForm } from '@/components/agent-form';
import { ChatPanel } from '@/components/chat-panel';
import { HeartbeatTab, MemoryTab, PromptTab, SkillsTab, UsageTab } from '@/components/agent-tabs';
import { SchedulesTab } from '@/components/agent-schedules';
import { NewAgentNotesPanel, SandboxSummary } from '@/components/sandbox-status';
import { memoryHref } from '@/lib/memory';
import { takeNewAgentNotes } from '@/lib/new-agent-notes';
import { Avatar, Button, ErrorLine, Panel } from '@/components/ui';
import { usePageTitle } from '@/components/shell';

const TABS = [
  ['settings', 'Settings'],
  ['chat', 'Chat'],
  ['prompt', 'System prompt'],
  ['memory', 'Memory files'],
  ['heartbeat', 'Heartbeat'],
  ['schedules', 'Schedules'],
  ['skills', 'Skills'],
  ['usage', 'Usage'],
] as const;
type Tab = (typeof TABS)[number][0];

export default function AgentPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <AgentFromQuery />
    </Suspense>
  );
}

function AgentFromQuery() {
  const params = useSearchParams();
  const id = params.get('id');
  const tabParam = params.get('tab');
  const tab: Tab = TABS.some(([t]) => t === tabParam) ? (tabParam as Tab) : 'settings';
  const agents = useStore((s) => s.agents);
  const agent = agents.find((a) => a.id === id) ?? null;
  usePageTitle(id ? `@${id}` : null);
  if (!id || !agent) {
    return (
      <p>
        {id ? `There is no agent @${id}. ` : 'No agent selected. '}
        <Link className="underline" href="/agents">
          Pick one from the list.
        </Link>
      </p>
    );
  }
  return <AgentView key={id} id={id} tab={tab} agent={agent} />;
}

function AgentView({ id, tab, agent }: { id: string; tab: Tab; agent: Agent }) {
  const router = useRouter();
  const tabs = useRef<Record<string, HTMLButtonElement | null>>({});
  const [error, setError] = useState<string | null>(null);
  // What the daemon said as this tab's form made it: shown once, on this visit.
  const [made] = useState(() => takeNewAgentNotes(id));
  const remove = async () => {
    if (!window.confirm(`Delete agent @${id}? Its workspace is archived (moved aside), not erased. A team that lists it must drop it first.`)) return;
    setError(null);
    try {
      await api().deleteAgent({ params: { id } });
      setState({ agents: await api().listAgents() });
      router.push('/agents');
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const go = (next: Tab) => router.replace(`/agents/view?id=${encodeURIComponent(id)}&tab=${next}`);
  const onKey = (e: KeyboardEvent) => {
    const i = TABS.findIndex(([t]) => t === tab);
    const j = e.key === 'ArrowRight' ? (i + 1) % TABS.length : e.key === 'ArrowLeft' ? (i - 1 + TABS.length) % TABS.length : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : -1;
    if (j < 0) return;
    e.preventDefault();
    const next = TABS[j]![0];
    go(next);
    tabs.current[next]?.focus();
  };
  return (
    <div className="space-y-4">
      <div className="flex items-center gap-3">
        <Avatar id={id} />
        <div>
          <h1 className="text-xl font-semibold">@{id}</h1>
          <p className="text-sm text-slate-600 dark:text-slate-300">
            {agent.name ?? 'No name'} · {agent.provider ?? 'default provider'}
            {agent.model ? ` · ${agent.model}` : ''}
          </p>
        </div>
        <Link href={memoryHref({ kind: 'agent', id })} className="ml-auto text-sm underline">
          Memory entries and proposals
        </Link>
        <Link href="/agents" className="text-sm underline">
          All agents
        </Link>
        <Button tone="danger" onClick={() => void remove()}>
          Delete agent
        </Button>
      </div>
      <ErrorLine error={error} />
      <div role="tablist" aria-label="Agent" className="flex flex-wrap gap-1 border-b border-slate-200 dark:border-slate-800" onKeyDown={onKey}>
        {TABS.map(([t, label]) => (
          <button
            key={t}
            ref={(el) => {
              tabs.current[t] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`panel-${t}`}
            tabIndex={tab === t ? 0 : -1}
            onClick={() => go(t)}
            className={`-mb-px rounded-t border-b-2 px-3 py-1.5 text-sm ${tab === t ? 'border-slate-900 font-semibold dark:border-slate-100' : 'border-transparent hover:bg-slate-100 dark:hover:bg-slate-800'}`}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'settings' && (
          <Panel title="Settings">
            <div className="mb-4 space-y-3">
              {made && <NewAgentNotesPanel id={id} notes={made} />}
              <SandboxSummary agent={agent} />
            </div>
            <AgentForm agent={agent} onSaved={() => {}} />
          </Panel>
        )}
        {tab === 'chat' && <ChatPanel target={`@${id}`} title={`Chat with @${id}`} />}
        {tab === 'prompt' && <PromptTab id={id} />}
        {tab === 'memory' && <MemoryTab id={id} />}
        {tab === 'heartbeat' && <HeartbeatTab id={id} />}
        {tab === 'schedules' && <SchedulesTab id={id} />}
        {tab === 'skills' && <SkillsTab id={id} />}
        {tab === 'usage' && <UsageTab id={id} />}
      </div>
    </div>
  );
}
