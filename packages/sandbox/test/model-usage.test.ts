/**
 * The model proxy's meter reads usage from a streamed response however the network cuts it: one
 * byte at a time, a line split across reads (a multi-byte character split too), CRLF line ends,
 * and a data line longer than any read.
 */
import { describe, expect, it } from 'vitest';
import { usageMeter } from '../src/model-usage.ts';

const anthropicStream = (text: string): string =>
  [
    'event: message_start',
    `data: {"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-6","usage":{"input_tokens":1200,"cache_read_input_tokens":1000,"cache_creation_input_tokens":50,"output_tokens":1}}}`,
    '',
    'event: content_block_delta',
    `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(text)}}}`,
    '',
    'event: message_delta',
    'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":40}}',
    '',
    '',
  ].join('\n');

function meterOf(body: string, cut: (bytes: Buffer) => Buffer[]) {
  const meter = usageMeter('messages', true);
  for (const piece of cut(Buffer.from(body, 'utf8'))) meter.push(piece);
  return { usage: meter.usage, model: meter.model };
}

const whole = (b: Buffer) => [b];
const bytes = (b: Buffer) => [...b].map((x) => Buffer.from([x]));
const sized = (n: number) => (b: Buffer) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));

describe('the model proxy meter (SSE)', () => {
  it('reads the same usage and model however the stream is cut', () => {
    const body = anthropicStream('héllo — wörld ✓');
    const expected = meterOf(body, whole);
    expect(expected.model).toBe('claude-sonnet-4-6');
    expect(expected.usage).toEqual({ inputTokens: 2250, outputTokens: 40, cacheReadTokens: 1000, cacheWriteTokens: 50 }); // every prompt token, cache reads and writes included;
    expect(meterOf(body, bytes)).toEqual(expected);
    expect(meterOf(body, sized(7))).toEqual(expected);
    expect(meterOf(body.replaceAll('\n', '\r\n'), sized(5))).toEqual(expected);
  });

  it('a delta line longer than the reads around it is joined once its end arrives, and the usage after it is read', () => {
    const body = anthropicStream('x'.repeat(200_000));
    expect(meterOf(body, sized(1000))).toEqual(meterOf(body, whole));
    expect(meterOf(body, sized(1000)).usage).toBeDefined();
  });
});
