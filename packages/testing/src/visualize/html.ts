/**
 * A self-contained HTML timeline of a history (no scripts, no external files): one row per
 * process, operations as bars positioned by time. Red bars cannot be ordered, the dark red one
 * had to be placed, orange bars have unknown outcome and run to the right edge, grey ones
 * failed. Hovering a bar shows the operation; placed operations carry their linearization
 * position. Below the chart: the checker's explanation.
 */
import { writeFileSync } from 'node:fs';
import type { CheckResult } from '../checker/check.js';
import type { CheckInput } from '../checker/normalize.js';
import { layout, type Bar, type VisualizeOptions } from './layout.js';

const LANE_HEIGHT = 22;

export function renderHistoryHtml(
  history: CheckInput,
  result?: CheckResult,
  options: VisualizeOptions = {},
): string {
  const view = layout(history, result, options);
  const span = view.to - view.from;
  const x = (t: number) => ((t - view.from) / span) * 100;
  const rows = view.rows
    .map((row) => {
      const lanes = row.lanes
        .map((lane) => `<div class="lane">${lane.map((bar) => barHtml(bar, x)).join('')}</div>`)
        .join('');
      return `<div class="row"><div class="name">${escape(row.process)}</div><div class="lanes">${lanes}</div></div>`;
    })
    .join('\n');
  const explanation = result === undefined ? '' : `<h2>Checker</h2><pre>${escape(result.describe())}</pre>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(view.title)}</title>
<style>
body { font: 13px system-ui, sans-serif; margin: 16px; }
.row { display: flex; border-top: 1px solid #eee; }
.name { width: 90px; flex: none; padding: 3px 6px; font-family: monospace; }
.lanes { flex: 1; position: relative; }
.lane { position: relative; height: ${LANE_HEIGHT}px; }
.bar { position: absolute; top: 3px; height: ${LANE_HEIGHT - 6}px; box-sizing: border-box; min-width: 3px;
  border: 1px solid #2e7d32; background: #c8e6c9; font: 11px monospace; overflow: hidden; white-space: nowrap; padding: 0 2px; }
.bar.open { border-color: #ef6c00; background: repeating-linear-gradient(45deg, #ffe0b2, #ffe0b2 4px, #fff3e0 4px, #fff3e0 8px); }
.bar.fail { border-color: #9e9e9e; background: #eeeeee; color: #757575; }
.bar.window { border: 2px solid #c62828; background: #ffcdd2; }
.bar.blocking { border: 2px solid #7f0000; background: #ef9a9a; }
.legend span { display: inline-block; margin-right: 12px; }
pre { background: #f7f7f7; padding: 8px; overflow: auto; }
</style></head><body>
<h1>${escape(view.title)}</h1>
<p>${view.bars.length} operations, time ${view.from} to ${view.to}. Hover a bar for details; #n is its position in the linearization found.</p>
<p class="legend"><span class="bar" style="position:static">ok</span><span class="bar open" style="position:static">unknown (info)</span><span class="bar fail" style="position:static">failed</span><span class="bar window" style="position:static">cannot be ordered</span><span class="bar blocking" style="position:static">had to be placed</span></p>
${rows}
${explanation}
</body></html>
`;
}

/** Writes `renderHistoryHtml` to `file` and returns the path. */
export function writeHistoryHtml(
  file: string,
  history: CheckInput,
  result?: CheckResult,
  options: VisualizeOptions = {},
): string {
  writeFileSync(file, renderHistoryHtml(history, result, options));
  return file;
}

function barHtml(bar: Bar, x: (t: number) => number): string {
  const classes = [
    'bar',
    bar.open ? 'open' : '',
    bar.op.outcome === 'fail' ? 'fail' : '',
    bar.mark === 'normal' ? '' : bar.mark,
  ]
    .filter(Boolean)
    .join(' ');
  const left = x(bar.start);
  const width = Math.max(0, x(bar.end) - left);
  const end = bar.open ? '?' : String(bar.op.completedAt);
  const tip = `#${bar.op.id} ${String(bar.op.process)} [${bar.op.invokedAt}, ${end}] ${bar.op.outcome}: ${bar.label}`;
  const text = `${bar.order === undefined ? '' : `#${bar.order} `}${bar.label}`;
  return `<div class="${classes}" style="left:${left.toFixed(3)}%;width:${width.toFixed(3)}%" title="${escape(tip)}">${escape(text)}</div>`;
}

function escape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
