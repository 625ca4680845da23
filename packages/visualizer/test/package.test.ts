/** The package talks to the daemon only through @tinyagi/client and ships its sources' exports. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string>; exports: Record<string, unknown> };
const SRC = new URL('../src/', import.meta.url);

describe('package', () => {
  it('depends on the client, ink and react only (and the React types its public .d.ts files name)', () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@tinyagi/client', '@types/react', 'ink', 'react']);
  });

  it('imports nothing of the daemon: no core, teams, server, settings file or database', () => {
    for (const file of readdirSync(SRC)) {
      const text = readFileSync(new URL(file, SRC), 'utf8');
      const imports = [...text.matchAll(/from '([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);
      for (const spec of imports) expect(spec, `${file} imports ${spec}`).toMatch(/^(\.\/|node:|@tinyagi\/client$|ink$|react$)/);
      expect(text, file).not.toMatch(/settings\.json|better-sqlite3|readFileSync/);
    }
  });

  it('exports its sources under tinyagi-source and dist otherwise, types first', () => {
    expect(pkg.exports['.']).toEqual({ types: { 'tinyagi-source': './src/index.ts', default: './dist/index.d.ts' }, 'tinyagi-source': './src/index.ts', default: './dist/index.js' });
  });
});

describe('without a terminal', () => {
  it('runVisualizer and runChatRoom refuse with a clear message instead of crashing Ink', async () => {
    const { runVisualizer, runChatRoom, NotATerminalError } = await import('../src/index.ts');
    // vitest's workers have no TTY on stdin/stdout, as when piped.
    expect(process.stdout.isTTY).not.toBe(true);
    await expect(runVisualizer({ baseUrl: 'http://127.0.0.1:9' })).rejects.toThrow(NotATerminalError);
    await expect(runVisualizer({ baseUrl: 'http://127.0.0.1:9' })).rejects.toThrow(/^The dashboard needs an interactive terminal .*`tinyagi visualize --json`/);
    await expect(runChatRoom({ baseUrl: 'http://127.0.0.1:9', team: 'dev' })).rejects.toThrow(/The chat room needs an interactive terminal/);
  });
});
