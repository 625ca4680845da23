/**
 * `agent add --config`: a JSON object of agent settings, checked here so a mistake is reported
 * against the flag (not against settings.json, which is fine) and unknown keys are refused with
 * the nearest known one instead of being stored and ignored. Apart from options.ts: it loads the
 * settings schema.
 */
import { InvalidArgumentError } from 'commander';
import { checkAgentConfig } from '../core-internal.ts';
import { parseJsonObject } from './options.ts';

export function parseAgentConfig(value: string): Record<string, unknown> {
  const config = parseJsonObject(value);
  const issues = checkAgentConfig(config);
  if (issues.length === 0) return config;
  const lines = issues.map((i) => `  - ${i.path === '' ? '(the object)' : i.path}: ${i.message}${i.hint ? `. ${i.hint}` : ''}`);
  throw new InvalidArgumentError(`${issues.length === 1 ? 'one problem' : `${issues.length} problems`}:\n${lines.join('\n')}`);
}
