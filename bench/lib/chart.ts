/** The README chart: requests/s and app CPU per request for every app and path, drawn with Vega. */
import * as vega from 'vega';
import type { PathResult } from './model.js';

interface Row {
  app: string;
  path: string;
  rps: number;
  cpu: number;
}

const PANEL_WIDTH = 300;
const COLORS = { 'GET /me': '#4c78a8', 'PUT /cart/:sku': '#f58518' };

function panel(title: string, field: keyof Row, height: number, withLabels: boolean): vega.GroupMark {
  return {
    type: 'group',
    title: { text: title, anchor: 'start', fontSize: 12 },
    encode: { update: { width: { value: PANEL_WIDTH }, height: { value: height } } },
    scales: [
      { name: 'y', type: 'band', domain: { data: 'rows', field: 'app' }, range: [0, height], padding: 0.15 },
      // Explicit pixels: inside a group, 'width' would name the top-level width signal (0 here).
      { name: 'x', type: 'linear', domain: { data: 'rows', field }, range: [0, PANEL_WIDTH], nice: true, zero: true },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', grid: true, format: '~s', tickCount: 5 },
      { orient: 'left', scale: 'y', labels: withLabels, ticks: false, labelLimit: 400 },
    ],
    marks: [
      {
        type: 'group',
        from: { facet: { data: 'rows', name: 'facet', groupby: 'app' } },
        encode: { update: { y: { scale: 'y', field: 'app' }, height: { scale: 'y', band: 1 } } },
        scales: [{ name: 'pos', type: 'band', range: [0, { signal: "bandwidth('y')" }], domain: Object.keys(COLORS) }],
        marks: [
          {
            type: 'rect',
            from: { data: 'facet' },
            encode: {
              update: {
                y: { scale: 'pos', field: 'path' },
                height: { scale: 'pos', band: 1 },
                x: { scale: 'x', field },
                x2: { scale: 'x', value: 0 },
                fill: { scale: 'color', field: 'path' },
                tooltip: { signal: `datum.app + ' ' + datum.path + ': ' + format(datum.${field}, ',.0f')` },
              },
            },
          },
        ],
      },
    ],
  };
}

/** Renders the SVG headless (renderer 'none': no canvas needed). */
export async function renderChart(results: PathResult[], subtitle: string): Promise<string> {
  const rows: Row[] = results
    .filter((r) => r.variant.topology === 'standalone')
    .map((r) => ({ app: r.variant.label, path: r.path, rps: Math.round(r.rps), cpu: Math.round(r.appCpuUs) }));
  const apps = new Set(rows.map((r) => r.app)).size;
  const height = apps * 34;
  const spec: vega.Spec = {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    padding: 12,
    background: 'white',
    title: { text: 'nestjs-redis-session benchmark', subtitle, anchor: 'start', fontSize: 15 },
    layout: { columns: 2, padding: 24, bounds: 'full' },
    data: [{ name: 'rows', values: rows }],
    scales: [{ name: 'color', type: 'ordinal', domain: Object.keys(COLORS), range: Object.values(COLORS) }],
    legends: [{ fill: 'color', orient: 'bottom', direction: 'horizontal', title: 'path' }],
    marks: [panel('requests/s (higher is better)', 'rps', height, true), panel('app CPU µs per request (lower is better)', 'cpu', height, false)],
  };
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
