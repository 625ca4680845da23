/**
 * Plain-text tables: aligned columns, one line per row, and on a terminal the last column cut to its width.
 */
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatTable } from '../src/output/print.ts';

const HEADERS = ['ID', 'STATUS', 'TITLE'];
const ROWS = [
  ['c_01JD8Y3', 'running', 'Write the quarterly report and send it to the whole team for review'],
  ['c_01JD8Y4', 'done', 'short'],
];

describe('formatTable', () => {
  it('aligns columns and keeps whole cells without a width (piped output)', () => {
    expect(formatTable(HEADERS, ROWS)).toEqual(['ID         STATUS   TITLE', 'c_01JD8Y3  running  Write the quarterly report and send it to the whole team for review', 'c_01JD8Y4  done     short']);
  });

  it('keeps each row on one line: a line break or tab in a cell (a title written on two lines) reads as a space', () => {
    expect(formatTable(HEADERS, [['c_1', 'done', 'Fix the login\n\nThe form  \r\n\tbreaks']])).toEqual(['ID   STATUS  TITLE', 'c_1  done    Fix the login The form breaks']);
  });

  it('cuts the last column to the terminal width with an ellipsis; short cells are left alone', () => {
    const lines = formatTable(HEADERS, ROWS, 40);
    expect(lines).toEqual(['ID         STATUS   TITLE', 'c_01JD8Y3  running  Write the quarterly…', 'c_01JD8Y4  done     short']);
    expect(Math.max(...lines.map((l) => l.length))).toBe(40);
  });

  it('leaves the last column whole when cutting it to under 12 columns would still not make the rows fit', () => {
    expect(formatTable(HEADERS, ROWS, 31)).toEqual(formatTable(HEADERS, ROWS));
    expect(formatTable(HEADERS, ROWS, 32)[1]).toBe('c_01JD8Y3  running  Write the q…');
  });

  it('counts colour sequences as zero width and keeps them (closed) when cutting', () => {
    const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
    const [, line = ''] = formatTable(['A', 'B'], [['x', red('abcdefghijklmnopqrstuvwxyz')]], 16);
    expect(stripVTControlCharacters(line)).toBe('x  abcdefghijkl…');
    expect(line.startsWith('x  \u001b[31mabcdefghijkl')).toBe(true);
    expect(line.endsWith('…\u001b[0m')).toBe(true);
  });
});
