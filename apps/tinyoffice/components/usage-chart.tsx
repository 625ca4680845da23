'use client';
/**
 * The usage chart: bars per bucket, stacked or side by side per key, with dashed budget lines.
 * Hand-drawn SVG on d3-scale (about 11 KiB gzipped, against about 23 KiB for uPlot and 116 KiB
 * for recharts 3; docs/tinyoffice.md), loaded only by the usage page. SVG keeps the theme in CSS
 * and the chart in the accessibility tree as one image; the page's tables carry the numbers.
 */
import { scaleBand, scaleLinear } from 'd3-scale';
import { useEffect, useMemo, useRef, useState } from 'react';
import { type ChartData, type UsageMetric, formatMetric } from '@/lib/usage';

export type ChartLayout = 'stacked' | 'grouped';

const HEIGHT = 300;
const MARGIN = { top: 16, right: 16, bottom: 28, left: 64 };

function useWidth(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry?.contentRect.width ?? 0)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

export default function UsageChart({ data, metric, layout, summary }: { data: ChartData; metric: UsageMetric; layout: ChartLayout; summary: string }) {
  const [ref, width] = useWidth();
  const [hover, setHover] = useState<number | null>(null);
  const { buckets, series, budgets } = data;
  const shownBudgets = layout === 'stacked' ? budgets.filter((b) => b.key === null) : budgets;

  const geometry = useMemo(() => {
    const inner = Math.max(0, width - MARGIN.left - MARGIN.right);
    const x = scaleBand<number>()
      .domain(buckets.map((_, i) => i))
      .range([0, inner])
      .paddingInner(buckets.length > 60 ? 0.1 : 0.2)
      .paddingOuter(0.1);
    const inGroup = scaleBand<number>()
      .domain(series.map((_, i) => i))
      .range([0, x.bandwidth()])
      .padding(series.length > 1 ? 0.08 : 0);
    const tops = buckets.map((_, i) => (layout === 'stacked' ? series.reduce((sum, s) => sum + s.values[i]!, 0) : Math.max(0, ...series.map((s) => s.values[i]!))));
    const max = Math.max(0, ...tops, ...shownBudgets.map((b) => b.value));
    const y = scaleLinear()
      .domain([0, max > 0 ? max * 1.05 : 1])
      .nice(5)
      .range([HEIGHT - MARGIN.top - MARGIN.bottom, 0]);
    // Every k-th bucket label, so they never overlap (about 72 px per label).
    const every = Math.max(1, Math.ceil(buckets.length / Math.max(1, Math.floor(inner / 72))));
    return { inner, x, inGroup, y, every };
  }, [width, buckets, series, layout, shownBudgets]);

  const { inner, x, inGroup, y, every } = geometry;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const ticks = y.ticks(5);

  return (
    <div ref={ref} className="relative w-full" data-testid="usage-chart" data-buckets={buckets.length} data-series={series.map((s) => s.key).join(',')}>
      {width > 0 && (
        <svg width={width} height={HEIGHT} role="img" aria-label={summary} className="block select-none">
          <g transform={`translate(${MARGIN.left},${MARGIN.top})`}>
            {ticks.map((t) => (
              <g key={t} transform={`translate(0,${y(t)})`}>
                <line x2={inner} className="stroke-slate-200 dark:stroke-slate-800" />
                <text x={-8} dy="0.32em" textAnchor="end" className="fill-slate-600 text-[11px] tabular-nums dark:fill-slate-400">
                  {formatMetric(t, metric)}
                </text>
              </g>
            ))}
            {buckets.map((label, i) => {
              const left = x(i) ?? 0;
              let base = 0;
              return (
                // biome-ignore lint/a11y/noStaticElementInteractions: hover only adds a tooltip; the same numbers are in the tables below.
                <g key={label} data-bucket={label} onMouseEnter={() => setHover(i)} onMouseLeave={() => setHover((h) => (h === i ? null : h))}>
                  <rect x={left} width={x.bandwidth()} y={0} height={plotHeight} className={hover === i ? 'fill-slate-100 dark:fill-slate-800/60' : 'fill-transparent'} />
                  {series.map((s, k) => {
                    const v = s.values[i]!;
                    if (v <= 0) return null;
                    if (layout === 'stacked') {
                      const top = y(base + v);
                      const h = y(base) - top;
                      base += v;
                      return <rect key={s.key} data-key={s.key} x={left} width={x.bandwidth()} y={top} height={Math.max(1, h)} fill={s.colour} />;
                    }
                    return <rect key={s.key} data-key={s.key} x={left + (inGroup(k) ?? 0)} width={inGroup.bandwidth()} y={y(v)} height={Math.max(1, plotHeight - y(v))} fill={s.colour} />;
                  })}
                  {i % every === 0 && (
                    <text x={left + x.bandwidth() / 2} y={plotHeight + 18} textAnchor="middle" className="fill-slate-600 text-[11px] dark:fill-slate-400">
                      {shortLabel(label)}
                    </text>
                  )}
                </g>
              );
            })}
            <line y1={plotHeight} y2={plotHeight} x2={inner} className="stroke-slate-400 dark:stroke-slate-600" />
            {shownBudgets.map((b) => (
              <g key={b.label} transform={`translate(0,${y(b.value)})`} data-testid="budget-line" data-key={b.key ?? ''}>
                <line x2={inner} stroke={b.colour} strokeWidth={2} strokeDasharray="6 4" />
                <text x={inner - 4} dy="-0.4em" textAnchor="end" className="fill-slate-700 text-[11px] font-medium dark:fill-slate-200">
                  {b.label} {formatMetric(b.value, metric)}
                </text>
              </g>
            ))}
          </g>
        </svg>
      )}
      {hover !== null && buckets[hover] !== undefined && (
        <div
          aria-hidden
          className="pointer-events-none absolute top-2 z-10 min-w-40 rounded border border-slate-200 bg-white/95 px-2 py-1 text-xs shadow dark:border-slate-700 dark:bg-slate-900/95"
          style={(x(hover) ?? 0) + MARGIN.left > width / 2 ? { right: width - (x(hover) ?? 0) - MARGIN.left + 8 } : { left: (x(hover) ?? 0) + MARGIN.left + x.bandwidth() + 8 }}
        >
          <div className="mb-1 font-semibold">{buckets[hover]}</div>
          {series
            .filter((s) => s.values[hover]! > 0)
            .map((s) => (
              <div key={s.key} className="flex items-center gap-2">
                <span className="inline-block h-2 w-2 rounded-sm" style={{ background: s.colour }} />
                <span className="flex-1">{s.label}</span>
                <span className="tabular-nums">{formatMetric(s.values[hover]!, metric)}</span>
              </div>
            ))}
          {series.every((s) => s.values[hover]! <= 0) && <div className="text-slate-500 dark:text-slate-400">nothing</div>}
        </div>
      )}
    </div>
  );
}

/** `2026-03-02` -> `Mar 2`; `2026-03` -> `Mar 2026`. */
function shortLabel(label: string): string {
  const [y, m, d] = label.split('-').map(Number);
  const month = new Date(Date.UTC(y!, (m ?? 1) - 1, 1)).toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return d === undefined ? `${month} ${y}` : `${month} ${d}`;
}
