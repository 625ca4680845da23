'use client';
/**
 * The company as an org chart (React Flow, laid out by ./org-layout): drag an agent onto a team
 * column to add it to that team, or onto "Unassigned" to take it out of the team it was dragged
 * from. The same moves by keyboard: every agent card has a "Teams" menu button (Tab to it,
 * Enter, arrows, Enter). Changes go through PATCH /api/teams/:id; the chart re-lays itself out
 * from the answer, so a drop that the server refuses snaps back. Zoom and fit controls sit on
 * the chart; on a narrow screen it starts as a list (the same teams, members and menus), which
 * stays readable where a fitted chart would shrink to illegible.
 */
import '@xyflow/react/dist/style.css';
import { Background, Controls, type Edge, type FitViewOptions, Handle, type Node, type NodeChange, type NodeProps, Position, ReactFlow, applyNodeChanges } from '@xyflow/react';
import { type KeyboardEvent, memo, useEffect, useMemo, useRef, useState } from 'react';
import type { Agent, Team } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { reloadTeamsAndAgents } from '@/lib/teams';
import { Avatar, Button, ErrorLine } from '@/components/ui';
import { useDarkTheme } from '@/components/shell';
import { NODE_HEIGHT, NODE_WIDTH, UNASSIGNED, columnAt, layoutOrg, type OrgLayout } from './org-layout';

interface Actions {
  add: (agent: string, team: string) => void;
  remove: (agent: string, team: string) => void;
}

type ColumnData = { team: string; title: string; subtitle: string; target: boolean; width: number; height: number };
type AgentData = { agent: string; name: string; column: string; role: 'leader' | 'member' | 'unassigned'; canJoin: string[]; actions: Actions };
type ColumnNode = Node<ColumnData, 'column'>;
type AgentNode = Node<AgentData, 'agent'>;
type OrgNode = ColumnNode | AgentNode;

const nodeTypes = { column: memo(ColumnCard), agent: memo(AgentCard) };
// Never smaller than half size (still legible); a wider company pans, or reads better as the list.
const FIT: FitViewOptions = { padding: 0.08, maxZoom: 1, minZoom: 0.5 };

export default function OrgChart({ teams, agents }: { teams: Team[]; agents: Agent[] }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [target, setTarget] = useState<string | null>(null);
  const [view, setView] = useState<'chart' | 'list'>('chart');
  useEffect(() => {
    if (window.matchMedia('(max-width: 639px)').matches) setView('list');
  }, []);
  const dark = useDarkTheme();
  // Fitted again when the chart's box changes size (a rotated phone, a narrowed window).
  const fit = useRef<(() => void) | null>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => fit.current?.());
    observer.observe(el);
    return () => observer.disconnect();
  }, [view]);
  const layout = useMemo(() => layoutOrg(teams, agents), [teams, agents]);

  const actions = useMemo<Actions>(() => {
    const change = async (team: string, members: (current: string[]) => string[]) => {
      const current = teams.find((t) => t.id === team);
      if (!current) return;
      setBusy(true);
      setError(null);
      try {
        await api().patchTeam({ params: { id: team }, body: { agents: members(current.agents ?? []) } });
      } catch (err) {
        setError(messageOf(err));
      } finally {
        await reloadTeamsAndAgents().catch(() => {});
        setBusy(false);
      }
    };
    return {
      add: (agent, team) => void change(team, (m) => (m.includes(agent) ? m : [...m, agent])),
      remove: (agent, team) => {
        const t = teams.find((x) => x.id === team);
        if (t?.leader_agent === agent) {
          setError(`@${agent} leads #${team}: choose another leader in the team's form before taking @${agent} out.`);
          return;
        }
        void change(team, (m) => m.filter((a) => a !== agent));
      },
    };
  }, [teams]);

  const laidOut = useMemo(() => toNodes(layout, teams, agents, actions, null), [layout, teams, agents, actions]);
  const [nodes, setNodes] = useState<OrgNode[]>(laidOut);
  useEffect(() => setNodes(laidOut), [laidOut]);
  const edges = useMemo(() => toEdges(layout), [layout]);

  const shown = useMemo(
    () => (target === null ? nodes : nodes.map((n) => (n.type === 'column' ? ({ ...n, data: { ...n.data, target: n.id === `col:${target}` } } as ColumnNode) : n))),
    [nodes, target],
  );

  const dropColumn = (node: Node): string | undefined => columnAt(layout, node.position.x + NODE_WIDTH / 2)?.id;

  return (
    <div>
      <ErrorLine error={error} />
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <p className="min-w-0 flex-1 text-sm text-slate-600 dark:text-slate-300">
          {view === 'chart'
            ? 'Drag an agent onto a team to add it, or onto “Unassigned” to take it out of its team. By keyboard: Tab to an agent’s “Teams” button and press Enter.'
            : 'Each agent’s “Teams” button adds it to a team or takes it out.'}
        </p>
        <fieldset aria-label="Show the company as" className="flex gap-1">
          <Button aria-pressed={view === 'chart'} onClick={() => setView('chart')}>
            Chart
          </Button>
          <Button aria-pressed={view === 'list'} onClick={() => setView('list')}>
            List
          </Button>
        </fieldset>
      </div>
      {view === 'list' ? (
        <OrgList layout={layout} nodes={laidOut} />
      ) : (
        <div ref={box} data-testid="org-chart" data-busy={busy} className="rounded border border-slate-200 dark:border-slate-700" style={{ height: Math.min(640, Math.max(280, layout.height + 48)) }}>
          <ReactFlow<OrgNode, Edge>
            nodes={shown}
            edges={edges}
            nodeTypes={nodeTypes}
            colorMode={dark ? 'dark' : 'light'}
            onNodesChange={(changes: NodeChange<OrgNode>[]) => setNodes((ns) => applyNodeChanges(changes, ns))}
            onNodeDrag={(_, node) => {
              const col = node.type === 'agent' ? dropColumn(node) : undefined;
              setTarget(col && col !== (node.data as AgentData).column ? col : null);
            }}
            onNodeDragStop={(_, node) => {
              setTarget(null);
              if (node.type !== 'agent') return;
              const data = node.data as AgentData;
              const col = dropColumn(node);
              if (col && col !== data.column) {
                if (col === UNASSIGNED) {
                  if (data.column !== UNASSIGNED) actions.remove(data.agent, data.column);
                } else actions.add(data.agent, col);
              }
              // Back to the laid-out place; a successful change re-lays the chart from the new teams.
              setNodes(laidOut);
            }}
            nodesConnectable={false}
            edgesFocusable={false}
            elementsSelectable
            fitView
            fitViewOptions={FIT}
            onInit={(flow) => {
              fit.current = () => void flow.fitView(FIT);
            }}
            minZoom={0.3}
            maxZoom={1.5}
            zoomOnScroll={false}
            preventScrolling={false}
            proOptions={{ hideAttribution: false }}
            ariaLabelConfig={{ 'node.a11yDescription.default': 'Agent card. Tab to its Teams button to add it to a team or take it out.' }}
          >
            <Background gap={24} size={1} />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
      )}
    </div>
  );
}

/** The chart as a list: one section per team (leader first) and the unassigned agents. */
function OrgList({ layout, nodes }: { layout: OrgLayout; nodes: readonly OrgNode[] }) {
  const cards = nodes.filter((n): n is AgentNode => n.type === 'agent');
  return (
    <div data-testid="org-list" className="grid gap-3 sm:grid-cols-2">
      {layout.columns.map((column) => {
        const members = cards.filter((c) => c.data.column === column.id);
        return (
          <section key={column.id} aria-labelledby={`org-list-${column.id}`} data-team-list={column.id} className="rounded-lg border border-slate-200 p-2 dark:border-slate-700">
            <h3 id={`org-list-${column.id}`} className="text-sm font-semibold">
              {column.title}
            </h3>
            <p className="mb-2 text-xs text-slate-600 dark:text-slate-300">{column.subtitle}</p>
            {members.length > 0 && (
              <ul className="space-y-1">
                {members.map((m) => (
                  <li key={m.id} className="h-12">
                    <AgentBody data={m.data} />
                  </li>
                ))}
              </ul>
            )}
          </section>
        );
      })}
    </div>
  );
}

function toNodes(layout: OrgLayout, teams: readonly Team[], agents: readonly Agent[], actions: Actions, target: string | null): OrgNode[] {
  const names = new Map(agents.map((a) => [a.id, a.name ?? '']));
  const columns: ColumnNode[] = layout.columns.map((c) => ({
    id: `col:${c.id}`,
    type: 'column',
    position: { x: c.x, y: 0 },
    data: { team: c.id, title: c.title, subtitle: c.subtitle, target: c.id === target, width: c.width, height: c.height },
    draggable: false,
    selectable: false,
    focusable: false,
    zIndex: 0,
    style: { width: c.width, height: c.height },
  }));
  const cards: AgentNode[] = layout.placements.map((p) => ({
    id: p.key,
    type: 'agent',
    position: { x: p.x, y: p.y },
    data: {
      agent: p.agent,
      name: names.get(p.agent) ?? '',
      column: p.column,
      role: p.role,
      canJoin: teams.filter((t) => !(t.agents ?? []).includes(p.agent)).map((t) => t.id),
      actions,
    },
    zIndex: 1,
    style: { width: NODE_WIDTH, height: NODE_HEIGHT },
  }));
  return [...columns, ...cards];
}

/** Leader -> member lines inside each team. */
function toEdges(layout: OrgLayout): Edge[] {
  const edges: Edge[] = [];
  for (const c of layout.columns) {
    const inColumn = layout.placements.filter((p) => p.column === c.id);
    const leader = inColumn.find((p) => p.role === 'leader');
    if (!leader) continue;
    for (const p of inColumn) if (p !== leader) edges.push({ id: `${leader.key}->${p.key}`, source: leader.key, target: p.key, type: 'smoothstep', selectable: false, focusable: false });
  }
  return edges;
}

function ColumnCard({ data }: NodeProps<ColumnNode>) {
  return (
    <div
      data-team-column={data.team}
      className={`h-full w-full rounded-lg border-2 border-dashed p-2 ${data.target ? 'border-sky-500 bg-sky-50/80 dark:border-sky-400 dark:bg-sky-950/60' : 'border-slate-300 bg-slate-50/70 dark:border-slate-700 dark:bg-slate-900/60'}`}
    >
      <div className="text-sm font-semibold text-slate-900 dark:text-slate-100">{data.title}</div>
      <div className="text-xs text-slate-600 dark:text-slate-300">{data.subtitle}</div>
    </div>
  );
}

function AgentCard({ data }: NodeProps<AgentNode>) {
  return (
    <div className="h-full w-full">
      <Handle type="target" position={Position.Top} className="invisible" isConnectable={false} />
      <AgentBody data={data} />
      <Handle type="source" position={Position.Bottom} className="invisible" isConnectable={false} />
    </div>
  );
}

/** An agent's card (name, role) and its "Teams" menu: in the chart and in the list. */
function AgentBody({ data }: { data: AgentData }) {
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const inTeam = data.column !== UNASSIGNED;
  const items: Array<{ label: string; run: () => void }> = [
    ...data.canJoin.map((team) => ({ label: `Add to #${team}`, run: () => data.actions.add(data.agent, team) })),
    ...(inTeam ? [{ label: `Remove from #${data.column}`, run: () => data.actions.remove(data.agent, data.column) }] : []),
  ];
  useEffect(() => {
    if (open) menu.current?.querySelector<HTMLButtonElement>('[role="menuitem"]')?.focus();
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const onMenuKey = (e: KeyboardEvent) => {
    const entries = [...(menu.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]') ?? [])];
    const at = entries.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowDown') entries[(at + 1) % entries.length]?.focus();
    else if (e.key === 'ArrowUp') entries[(at - 1 + entries.length) % entries.length]?.focus();
    else return;
    e.preventDefault();
    e.stopPropagation();
  };

  return (
    <div
      data-agent={data.agent}
      data-column={data.column}
      data-role={data.role}
      className={`relative flex h-full w-full items-center gap-2 rounded-md border bg-white px-2 shadow-sm dark:bg-slate-800 ${data.role === 'leader' ? 'border-amber-500' : 'border-slate-300 dark:border-slate-600'}`}
    >
      <Avatar id={data.agent} size="sm" />
      <div className="min-w-0 flex-1 leading-tight">
        <div className="truncate text-sm font-medium text-slate-900 dark:text-slate-100">@{data.agent}</div>
        <div className="truncate text-xs text-slate-600 dark:text-slate-300">{data.role === 'leader' ? 'leader' : data.name || data.role}</div>
      </div>
      <button
        ref={button}
        type="button"
        className="nodrag rounded px-1 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-700"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={inTeam ? `Teams of @${data.agent} (in #${data.column})` : `Teams of @${data.agent} (unassigned)`}
        onClick={() => setOpen((o) => !o)}
      >
        ⋯
      </button>
      {open && (
        <div
          ref={menu}
          role="menu"
          tabIndex={-1}
          aria-label={`Teams of @${data.agent}`}
          onKeyDown={onMenuKey}
          onBlur={(e) => {
            if (!menu.current?.contains(e.relatedTarget as globalThis.Node | null)) setOpen(false);
          }}
          className="nodrag absolute top-full right-0 z-10 mt-1 min-w-40 rounded border border-slate-300 bg-white py-1 text-sm shadow-lg dark:border-slate-600 dark:bg-slate-800"
        >
          {items.length === 0 ? (
            <p className="px-2 py-1 text-slate-600 dark:text-slate-300">No other team to join.</p>
          ) : (
            items.map((item) => (
              <button
                key={item.label}
                type="button"
                role="menuitem"
                tabIndex={-1}
                className="block w-full px-3 py-1 text-left hover:bg-slate-100 focus:bg-slate-100 focus:outline-none dark:hover:bg-slate-700 dark:focus:bg-slate-700"
                onClick={() => {
                  setOpen(false);
                  item.run();
                }}
              >
                {item.label}
              </button>
            ))
          )}
        </div>
      )}
    </div>
  );
}
