/**
 * A plain-text timeline, for a terminal or a CI log: one line per process (lane), operations
 * as `[====]` bars, `[!!!!]` for the operations that cannot be ordered and `[####]` for the one
 * that had to be placed; unknown outcomes run to the right edge as `[~~~~>`. A legend lists
 * every operation drawn.
 */
import type { CheckResult } from '../checker/check.js';
import type { CheckInput } from '../checker/normalize.js';
import { layout, type Bar, type VisualizeOptions } from './layout.js';

export interface TextOptions extends VisualizeOptions {
  /** Width of the timeline in characters. Default 100. */
  width?: number;
}

export function renderHistoryText(
  history: CheckInput,
  result?: CheckResult,
  options: TextOptions = {},
): string {
  const width = Math.max(20, options.width ?? 100);
  const view = layout(history, result, options);
  const column = (t: number) =>
    Math.min(width - 1, Math.floor(((t - view.from) / (view.to - view.from)) * (width - 1)));
  const nameWidth = Math.max(7, ...view.rows.map((r) => r.process.length));
  const lines: string[] = [];
  lines.push(`${view.title}: ${view.bars.length} operations, time ${view.from} .. ${view.to}`);
  lines.push(`${'process'.padEnd(nameWidth)} |${'-'.repeat(width)}|`);
  for (const row of view.rows) {
    row.lanes.forEach((lane, index) => {
      const cells = new Array<string>(width).fill(' ');
      for (const bar of lane) draw(cells, bar, column(bar.start), column(bar.end));
      lines.push(`${(index === 0 ? row.process : '').padEnd(nameWidth)} |${cells.join('')}|`);
    });
  }
  lines.push('');
  for (const bar of view.bars) {
    const flag =
      bar.mark === 'blocking'
        ? '  <== had to be placed'
        : bar.mark === 'window'
          ? '  <-- cannot be ordered'
          : '';
    const position = bar.order === undefined ? '' : ` (linearized #${bar.order})`;
    const end = bar.open ? '...' : String(bar.op.completedAt);
    lines.push(
      `#${bar.op.id} ${String(bar.op.process)} [${bar.op.invokedAt}, ${end}] ${bar.op.outcome} ${bar.label}${position}${flag}`,
    );
  }
  return lines.join('\n');
}

function draw(cells: string[], bar: Bar, from: number, to: number): void {
  const fill =
    bar.mark === 'blocking'
      ? '#'
      : bar.mark === 'window'
        ? '!'
        : bar.open
          ? '~'
          : bar.op.outcome === 'fail'
            ? 'x'
            : '=';
  for (let i = from; i <= to; i++) cells[i] = fill;
  cells[from] = '[';
  if (to > from) cells[to] = bar.open ? '>' : ']';
}
