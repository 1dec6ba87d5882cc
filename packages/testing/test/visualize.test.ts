import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  History,
  checkLinearizable,
  registerModel,
  renderHistoryHtml,
  renderHistoryText,
  writeHistoryHtml,
} from '@copycat/testing';
import { info, ok } from './fixtures.js';

const staleRead = [
  ok('A', 'write', 0, 10, { input: 1 }),
  ok('B', 'read', 12, 14, { output: 0 }),
  ok('C', 'read', 1, 3, { output: 0 }),
  info('D', 'write', 5, { input: 9 }),
];

describe('text timeline', () => {
  it('draws one row per process and marks the operations that cannot be ordered', () => {
    const result = checkLinearizable(staleRead, registerModel({ initial: 0 }));
    expect(result.result).toBe('illegal');
    const text = renderHistoryText(staleRead, result, { width: 40 });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^NOT linearizable: 4 operations/);
    const row = (p: string) => lines.find((l) => l.startsWith(`${p} `))!;
    expect(row('A')).toMatch(/\[=+\]/);
    expect(row('B')).toMatch(/\[#+\]/); // the read that had to be placed
    expect(row('D')).toMatch(/>\|$/); // unknown outcome: runs to the right edge
    expect(text).toContain('#1 B [12, 14] ok read() -> 0  <== had to be placed');
    expect(text).toContain('#0 A [0, 10] ok write(1) (linearized #');
    expect(text).toContain('#3 D [5, ...] info write(9) -> ?');
  });

  it('puts overlapping operations of one process on separate lanes', () => {
    const text = renderHistoryText(
      [info('A', 'write', 0, { input: 1 }), ok('A', 'read', 5, 6, { output: 1 })],
      undefined,
      { width: 30 },
    );
    const lanes = text.split('\n').filter((l) => l.includes('|') && !l.startsWith('process'));
    expect(lanes.length).toBe(2);
    expect(lanes[1]!.startsWith(' ')).toBe(true);
  });
});

describe('HTML timeline', () => {
  it('is a self-contained page with bars, marks, the explanation, and escaped labels', () => {
    const history = [...staleRead, ok('E<script>', 'write', 20, 21, { input: '<b>"x"</b>' })];
    const result = checkLinearizable(history, registerModel({ initial: 0 }));
    const html = renderHistoryHtml(history, result);
    const all = renderHistoryHtml(history, result, { scope: 'all' });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(all).not.toMatch(/<script|src=|href=/);
    expect(all).toContain('E&lt;script&gt;');
    expect(all).toContain('&quot;&lt;b&gt;');
    expect(html).toContain('class="bar blocking"');
    expect(html).toContain('class="bar open"');
    expect(html).toContain('not linearizable: register model');
    expect((html.match(/class="row"/g) ?? []).length).toBe(4); // window scope: E's write is outside it
    expect((all.match(/class="row"/g) ?? []).length).toBe(5);
  });

  it('writes the file a person opens when a seed fails', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'copycat-viz-'));
    const history = new History(() => 0);
    const id = history.invoke('p1', { name: 'write', input: 1 });
    history.ok(id);
    const file = writeHistoryHtml(
      path.join(dir, 'h.html'),
      history,
      checkLinearizable(history, registerModel()),
    );
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('linearizable: 1 operation');
  });
});
