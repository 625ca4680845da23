/**
 * Shapes GET /api/usage for the chart and the tables: one value per (bucket, key) for the chosen
 * metric, the keys ordered by their total (the biggest first) with everything past the eighth
 * folded into "other" so colours stay tellable apart, and the budget lines that apply.
 */
import type { UsageReport, UsageSeriesGroup } from '@tinyagi/client';
import { agentHue } from '@/lib/agent-colour';

export type UsageMetric = 'cost' | 'tokens';

export const OTHER_KEY = '\u0000other';
/** Colours that read on white and on slate-900 (contrast ≥ 3:1 against both for graphics); the avatars' hues, in their order. */
export const PALETTE = ['#0284c7', '#7c3aed', '#059669', '#d97706', '#e11d48', '#0d9488', '#4f46e5', '#c026d3'];
export const OTHER_COLOUR = '#94a3b8';
export const MAX_KEYS = PALETTE.length;

export interface ChartSeries {
  key: string;
  label: string;
  colour: string;
  /** One value per bucket. */
  values: number[];
  total: number;
}

export interface BudgetLine {
  /** The key it belongs to, or null for the global cap (all keys together). */
  key: string | null;
  label: string;
  colour: string;
  value: number;
}

export interface ChartData {
  buckets: string[];
  series: ChartSeries[];
  budgets: BudgetLine[];
}

export function keyLabel(group: UsageSeriesGroup, key: string, names: Record<string, string>): string {
  if (key === OTHER_KEY) return 'other';
  if (key === '') return group === 'team' ? '(no team)' : group === 'provider' ? '(not recorded)' : '(none)';
  return names[key] ?? key;
}

export function metricOf(row: { inputTokens: number; outputTokens: number; costUsd: number }, metric: UsageMetric): number {
  return metric === 'cost' ? row.costUsd : row.inputTokens + row.outputTokens;
}

/**
 * The series' colours: by rank, except agents, which take their avatar's hue (lib/agent-colour.ts);
 * an agent whose hue a bigger one already took gets the next free colour, so bars stay tellable apart.
 */
function coloursOf(group: UsageSeriesGroup, keys: readonly string[]): string[] {
  if (group !== 'agent') return keys.map((_, i) => PALETTE[i]!);
  const taken = new Set<number>();
  return keys.map((key) => {
    let hue = key === '' ? 0 : agentHue(key);
    while (taken.has(hue)) hue = (hue + 1) % PALETTE.length;
    taken.add(hue);
    return PALETTE[hue]!;
  });
}

export function chartData(report: UsageReport, group: UsageSeriesGroup, metric: UsageMetric, names: Record<string, string>): ChartData {
  const buckets = (report.buckets ?? []).map((b) => b.label);
  const index = new Map(buckets.map((label, i) => [label, i]));
  const byKey = new Map<string, number[]>();
  for (const row of report.series ?? []) {
    let values = byKey.get(row.key);
    if (!values) {
      values = new Array<number>(buckets.length).fill(0);
      byKey.set(row.key, values);
    }
    const i = index.get(row.bucket);
    if (i !== undefined) values[i]! += metricOf(row, metric);
  }
  const ranked = [...byKey.entries()].map(([key, values]) => ({ key, values, total: values.reduce((a, b) => a + b, 0) })).sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  const shown = ranked.slice(0, ranked.length > MAX_KEYS ? MAX_KEYS - 1 : MAX_KEYS);
  const rest = ranked.slice(shown.length);
  const colours = coloursOf(
    group,
    shown.map((s) => s.key),
  );
  const series: ChartSeries[] = shown.map((s, i) => ({ ...s, label: keyLabel(group, s.key, names), colour: colours[i]! }));
  if (rest.length > 0) {
    const values = buckets.map((_, i) => rest.reduce((sum, s) => sum + s.values[i]!, 0));
    series.push({ key: OTHER_KEY, label: `other (${rest.length})`, colour: OTHER_COLOUR, values, total: values.reduce((a, b) => a + b, 0) });
  }
  const budgets: BudgetLine[] = [];
  // Budgets are daily caps: as lines they only mean something against daily buckets.
  if (report.bucket === 'day') {
    const pick = (cap: { usd?: number | undefined; tokens?: number | undefined }) => (metric === 'cost' ? cap.usd : cap.tokens);
    const global = pick(report.budgets.global);
    if (global !== undefined) budgets.push({ key: null, label: 'all agents, daily cap', colour: OTHER_COLOUR, value: global });
    for (const cap of report.budgets.keys) {
      const value = pick(cap);
      const s = series.find((x) => x.key === cap.key);
      if (value !== undefined && s) budgets.push({ key: cap.key, label: `${s.label}, daily cap`, colour: s.colour, value });
    }
  }
  return { buckets, series, budgets };
}

export function formatMetric(value: number, metric: UsageMetric): string {
  if (metric === 'cost') return value === 0 ? '$0' : value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
  return formatTokens(value);
}

export function formatTokens(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(n >= 10_000_000 ? 0 : 1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  return n.toLocaleString('en-US');
}
