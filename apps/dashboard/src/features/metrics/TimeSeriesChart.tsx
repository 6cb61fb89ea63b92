import { useMemo } from 'react';
import { Line } from 'react-chartjs-2';
import {
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineElement,
  PointElement,
  Tooltip,
  type ChartOptions,
} from 'chart.js';
import Box from '@mui/material/Box';
import { useTheme } from '@mui/material/styles';
import type { MetricPoint } from '@agent-monitor/contracts';

Chart.register(LinearScale, LineElement, PointElement, Tooltip, Legend, Filler);

export interface ChartSeries {
  label: string;
  points: MetricPoint[];
}

const PALETTE = [
  '#1976d2',
  '#e65100',
  '#2e7d32',
  '#8e24aa',
  '#00838f',
  '#c62828',
  '#6d4c41',
  '#546e7a',
];

export function formatValue(v: number, unit: string | null): string {
  const abs = Math.abs(v);
  let s: string;
  if (unit === 'B/s' || unit === 'B') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let x = v;
    let i = 0;
    while (Math.abs(x) >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    return `${x.toFixed(x >= 100 ? 0 : 1)} ${units[i]}${unit === 'B/s' ? '/s' : ''}`;
  }
  if (abs >= 1e6) s = `${(v / 1e6).toFixed(1)}M`;
  else if (abs >= 1e3) s = `${(v / 1e3).toFixed(1)}k`;
  else s = abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toFixed(1) : v.toPrecision(2);
  return unit ? (unit === '%' ? `${s}%` : `${s} ${unit}`) : s;
}

function formatTick(ms: number, spanMs: number): string {
  const d = new Date(ms);
  if (spanMs > 2 * 86_400_000)
    return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * A line chart over time (epoch-ms linear x axis, so no date adapter is needed) with unit-aware
 * ticks and tooltips. `data-points` on the wrapper exposes the point count for tests.
 */
export function TimeSeriesChart({
  series,
  unit,
  from,
  to,
  height = 200,
  testId,
}: {
  series: ChartSeries[];
  unit: string | null;
  from: number;
  to: number;
  height?: number;
  testId?: string;
}) {
  const theme = useTheme();
  const total = series.reduce((n, s) => n + s.points.length, 0);
  const data = useMemo(
    () => ({
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.points.map((p) => ({ x: p.t, y: p.v })),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length] + '33',
        borderWidth: 1.5,
        pointRadius: s.points.length < 60 ? 2 : 0,
        tension: 0.2,
        fill: series.length === 1,
      })),
    }),
    [series],
  );
  const options = useMemo<ChartOptions<'line'>>(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: {
          type: 'linear',
          min: from,
          max: to,
          ticks: {
            color: theme.palette.text.secondary,
            maxTicksLimit: 7,
            callback: (v) => formatTick(Number(v), to - from),
          },
          grid: { color: theme.palette.divider },
        },
        y: {
          ticks: {
            color: theme.palette.text.secondary,
            callback: (v) => formatValue(Number(v), unit),
          },
          grid: { color: theme.palette.divider },
        },
      },
      plugins: {
        legend: {
          display: series.length > 1,
          labels: { color: theme.palette.text.primary, boxWidth: 12 },
        },
        tooltip: {
          callbacks: {
            title: (items) =>
              items[0] ? new Date(Number(items[0].parsed.x)).toLocaleString() : '',
            label: (item) =>
              `${item.dataset.label ?? ''}: ${formatValue(Number(item.parsed.y), unit)}`,
          },
        },
      },
    }),
    [from, to, unit, series.length, theme],
  );
  return (
    <Box sx={{ height, position: 'relative' }} data-testid={testId} data-points={total}>
      <Line data={data} options={options} />
    </Box>
  );
}
