import { useMemo } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Paper from '@mui/material/Paper';
import { useTheme } from '@mui/material/styles';
import type { DependencyGraph } from '@agent-monitor/contracts';
import { dependencyQueries } from '../../api/fleet.queries';
import { useSocketEvent } from '../../api/socket';
import { AGENT_STATUS_COLORS } from '../../app/theme';
import { EmptyState } from '../../components/EmptyState';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Page, PageHeader } from '../../components/PageHeader';
import { CardSkeleton } from '../../components/Skeletons';

const COL_W = 220;
const ROW_H = 64;
const NODE_W = 160;
const NODE_H = 36;

/**
 * Layered layout: an agent sits one column right of everything it depends on (longest path),
 * so arrows run left to right from dependents to what they need.
 */
export function layout(g: DependencyGraph): Map<string, { x: number; y: number }> {
  const deps = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) deps.get(e.from)?.push(e.to);
  const depth = new Map<string, number>();
  const visit = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // cycles are refused by the API; never loop regardless
    seen.add(id);
    const d = Math.max(-1, ...(deps.get(id) ?? []).map((x) => visit(x, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  for (const n of g.nodes) visit(n.id, new Set());
  const rows = new Map<number, number>();
  const out = new Map<string, { x: number; y: number }>();
  for (const n of g.nodes) {
    const d = depth.get(n.id) ?? 0;
    const r = rows.get(d) ?? 0;
    rows.set(d, r + 1);
    out.set(n.id, { x: 20 + d * COL_W, y: 20 + r * ROW_H });
  }
  return out;
}

/** Which agent needs which, with live status colours. */
export default function DependencyMapPage() {
  const theme = useTheme();
  const qc = useQueryClient();
  const graph = useQuery(dependencyQueries.graph());
  useSocketEvent(
    'agent_status_changed',
    () => void qc.invalidateQueries({ queryKey: ['dependencies'] }),
  );
  const pos = useMemo(() => (graph.data ? layout(graph.data) : new Map()), [graph.data]);
  const width = Math.max(400, ...[...pos.values()].map((p) => p.x + NODE_W + 20));
  const height = Math.max(120, ...[...pos.values()].map((p) => p.y + NODE_H + 20));

  return (
    <Page>
      <PageHeader
        title="Dependency map"
        subtitle="Arrows point from an agent to the agents it depends on (POST /api/v2/agents/:id/dependencies)."
      />
      {graph.error && <ErrorAlert error={graph.error} />}
      {graph.isPending ? (
        <CardSkeleton height={300} />
      ) : graph.data && graph.data.nodes.length === 0 ? (
        <EmptyState title="No dependencies recorded" />
      ) : (
        <Paper variant="outlined" sx={{ overflow: 'auto' }}>
          <svg width={width} height={height} role="img" aria-label="Dependency map">
            <defs>
              <marker
                id="arrow"
                viewBox="0 0 10 10"
                refX="10"
                refY="5"
                markerWidth="8"
                markerHeight="8"
                orient="auto-start-reverse"
              >
                <path d="M 0 0 L 10 5 L 0 10 z" fill={theme.palette.text.secondary} />
              </marker>
            </defs>
            {graph.data?.edges.map((e) => {
              const a = pos.get(e.from);
              const b = pos.get(e.to);
              if (!a || !b) return null;
              // Dependents sit right of what they need: draw from the left edge to the right edge.
              return (
                <line
                  key={`${e.from}-${e.to}`}
                  x1={a.x}
                  y1={a.y + NODE_H / 2}
                  x2={b.x + NODE_W}
                  y2={b.y + NODE_H / 2}
                  stroke={theme.palette.text.secondary}
                  strokeWidth={1.5}
                  markerEnd="url(#arrow)"
                />
              );
            })}
            {graph.data?.nodes.map((n) => {
              const p = pos.get(n.id)!;
              const tone = AGENT_STATUS_COLORS[n.status];
              const colour = theme.palette.mode === 'dark' ? tone.dark : tone.light;
              return (
                <g key={n.id} data-testid={`dep-node-${n.name}`}>
                  <rect
                    x={p.x}
                    y={p.y}
                    width={NODE_W}
                    height={NODE_H}
                    rx={8}
                    fill={theme.palette.background.paper}
                    stroke={colour}
                    strokeWidth={2}
                  />
                  <circle cx={p.x + 14} cy={p.y + NODE_H / 2} r={5} fill={colour} />
                  <text
                    x={p.x + 26}
                    y={p.y + NODE_H / 2 + 4}
                    fontSize={13}
                    fill={theme.palette.text.primary}
                  >
                    {n.name.length > 18 ? `${n.name.slice(0, 17)}…` : n.name}
                  </text>
                </g>
              );
            })}
          </svg>
        </Paper>
      )}
    </Page>
  );
}
