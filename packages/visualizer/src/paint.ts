/**
 * Paints lines of styled segments with Ink. Without colour (NO_COLOR, or `color: false`) no
 * style is applied at all, so the output carries no escape codes; layouts never rely on colour
 * alone. Each line is one Text truncated to the width, so nothing wraps and the height is exact.
 */
import { createElement as h, type ReactElement } from 'react';
import { Box, Text } from 'ink';
import type { Line } from './layout.ts';

export function paintLines(lines: Line[], color: boolean, width: number): ReactElement {
  return h(
    Box,
    { flexDirection: 'column', width },
    ...lines.map((line, i) =>
      h(
        Text,
        { key: i, wrap: 'truncate-end' },
        line.length === 0 ? ' ' : line.flatMap((s, j) => (color ? h(Text, { key: j, ...(s.color ? { color: s.color } : {}), bold: s.bold === true, dimColor: s.dim === true }, s.text) : s.text)),
      ),
    ),
  );
}

/** Whether to paint colour: off when NO_COLOR is set to anything non-empty (https://no-color.org). */
export function colorEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env['NO_COLOR'];
}

/** The size of the stream Ink draws on (80x24 when it does not say). */
export function streamSize(stream: NodeJS.WritableStream): { width: number; height: number } {
  const tty = stream as Partial<NodeJS.WriteStream>;
  return { width: tty.columns || 80, height: tty.rows || 24 };
}
