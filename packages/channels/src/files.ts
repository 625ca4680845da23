/**
 * Inbound attachments: size-capped, stored under TINYAGI_HOME/files/ with a sanitised name
 * (`<channel>_<message id>_<name>`: no path separators, no leading dots, no control
 * characters), sent as the message's attachments (the daemon confines them to files/ and
 * names them to the agent).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InboundFile } from './adapter.ts';

export const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024;

export function sanitizeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const clean = base
    .normalize('NFKC')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this strips from file names
    .replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_')
    .replace(/^[.\s]+/, '')
    .replace(/\s+/g, '_')
    .slice(-120);
  return clean === '' ? 'file' : clean;
}

export interface StoredFiles {
  paths: string[];
  /** Files left out, with why (too big, download failed): told to the agent in the text. */
  skipped: string[];
}

export async function storeInboundFiles(files: readonly InboundFile[], options: { dir: string; prefix: string; maxBytes: number }): Promise<StoredFiles> {
  const out: StoredFiles = { paths: [], skipped: [] };
  if (files.length === 0) return out;
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  for (const [index, file] of files.entries()) {
    const name = sanitizeFileName(file.name);
    if (file.size !== undefined && file.size > options.maxBytes) {
      out.skipped.push(`${name} (${file.size} bytes, over the ${options.maxBytes}-byte limit)`);
      continue;
    }
    try {
      const bytes = await file.download();
      if (bytes.byteLength > options.maxBytes) {
        out.skipped.push(`${name} (${bytes.byteLength} bytes, over the ${options.maxBytes}-byte limit)`);
        continue;
      }
      const path = join(options.dir, `${sanitizeFileName(options.prefix)}_${index}_${name}`);
      writeFileSync(path, bytes, { mode: 0o600 });
      out.paths.push(path);
    } catch (err) {
      out.skipped.push(`${name} (download failed: ${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return out;
}

/** The message text the agent sees: the text, then a line per file that was left out (stored ones go as attachments). */
export function withSkippedFiles(text: string, stored: StoredFiles): string {
  return [text, ...stored.skipped.map((s) => `[file not stored: ${s}]`)].filter((l) => l !== '').join('\n');
}
