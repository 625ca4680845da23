/**
 * `tinyagi memory list|pending|show|search|add|accept|reject|edit|forget|import|export`
 * (docs/memory.md): what the team remembers, per agent, team and project; the proposals agents
 * made wait here (and in TinyOffice) for a person's decision. A scope is written `agent:<id>`,
 * `team:<id>` or `project:<id>`. `import` and `export` move an agent's memory from and to
 * `memory/*.md` files (the reference's format).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { MEMORY_KINDS, MEMORY_SCOPE_KINDS, MEMORY_STATUSES, type MemoryFile, type MemoryKind, type MemoryRecord, type MemoryScope, type MemoryStatus } from '@tinyagi/client/contract';
import { connect } from '../daemon/connection.ts';
import { usageError } from '../output/cli-error.ts';
import { formatTime, printFields, printJson, printTable, println } from '../output/print.ts';
import { contextOf, withJson } from './options.ts';

export function parseScope(text: string): MemoryScope {
  const [kind, ...rest] = text.split(':');
  const id = rest.join(':');
  if (!(MEMORY_SCOPE_KINDS as readonly string[]).includes(kind ?? '') || id === '') throw usageError(`A scope is agent:<id>, team:<id> or project:<id>, not "${text}".`);
  return { kind: kind as MemoryScope['kind'], id };
}

function parseKind(text: string | undefined): MemoryKind | undefined {
  if (text === undefined) return undefined;
  if (!(MEMORY_KINDS as readonly string[]).includes(text)) throw usageError(`A memory's kind is ${MEMORY_KINDS.join(', ')}, not "${text}".`);
  return text as MemoryKind;
}

function parseStatus(text: string | undefined): MemoryStatus | undefined {
  if (text === undefined) return undefined;
  if (!(MEMORY_STATUSES as readonly string[]).includes(text)) throw usageError(`A memory's status is ${MEMORY_STATUSES.join(', ')}, not "${text}".`);
  return text as MemoryStatus;
}

const scopeText = (s: MemoryScope): string => `${s.kind}:${s.id}`;
const oneLine = (text: string, max = 80): string => {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
};

function printEntries(list: readonly MemoryRecord[], empty: string): void {
  printTable(
    ['ID', 'STATUS', 'SCOPE', 'KIND', 'TEXT', 'BY', 'CREATED'],
    list.map((e) => [
      e.id,
      `${e.action === 'forget' ? 'forget ' : ''}${e.status}${e.pinned ? ' (pinned)' : ''}`,
      scopeText(e.scope),
      e.kind,
      oneLine(e.text),
      e.provenance.proposedBy,
      formatTime(e.createdAt),
    ]),
    empty,
  );
}

function printEntry(e: MemoryRecord): void {
  printFields([
    ['id', e.id],
    ['status', `${e.status}${e.pinned ? ' (pinned)' : ''}`],
    ['proposal', e.action === 'forget' ? `forget ${e.targetId}` : e.targetId ? `remember, replacing ${e.targetId}` : 'remember'],
    ['scope', scopeText(e.scope)],
    ['kind', e.kind],
    ...(e.name ? [['name', e.name] as const] : []),
    ['text', e.text],
    ...(e.reason ? [['reason', e.reason] as const] : []),
    ['proposed by', e.provenance.proposedBy],
    ...(e.provenance.conversationId ? [['conversation', e.provenance.conversationId] as const] : []),
    ...(e.provenance.runId ? [['run', e.provenance.runId] as const] : []),
    ['created', formatTime(e.createdAt)],
    ['decided', e.decidedBy ? `${e.decidedBy}, ${formatTime(e.decidedAt)}` : '-'],
    ['last used', formatTime(e.lastUsedAt)],
    ['expires', e.expiresAt === null ? 'never' : formatTime(e.expiresAt)],
  ]);
}

export function registerMemoryCommands(program: Command): void {
  const memory = program.command('memory').description('what your agents remember (per agent, team, project): proposals to review, search, edits');
  const done = (e: MemoryRecord, json: boolean | undefined, what: string): void => (json ? printJson(e) : println(`${what} ${e.id}: ${oneLine(e.text)}`));

  withJson(
    memory
      .command('list')
      .description('entries and proposals, newest first')
      .option('--scope <scope>', 'only agent:<id>, team:<id> or project:<id>')
      .option('--status <status>', `only ${MEMORY_STATUSES.join(', ')}`)
      .option('--limit <n>', 'at most n (default 50)', '50'),
  ).action(async (options: { scope?: string; status?: string; limit: string; json?: boolean }, cmd: Command) => {
    const scope = options.scope ? parseScope(options.scope) : undefined;
    const status = parseStatus(options.status);
    const list = await connect(contextOf(cmd)).client.listMemory({
      query: { ...(scope ? { scope: scope.kind, id: scope.id } : {}), ...(status ? { status } : {}), limit: Number(options.limit) },
    });
    if (options.json) return printJson(list);
    printEntries(list, 'Nothing in memory yet.');
  });

  withJson(memory.command('pending').description("agents' proposals waiting for your decision")).action(async (options: { json?: boolean }, cmd: Command) => {
    const list = await connect(contextOf(cmd)).client.listMemory({ query: { status: 'proposed' } });
    if (options.json) return printJson(list);
    printEntries(list, 'No proposal waits for you.');
    if (list.length > 0) println('Decide with `tinyagi memory accept <id>` (--text to edit it first) or `tinyagi memory reject <id>`.');
  });

  withJson(memory.command('show').description('one entry or proposal, with where it came from').argument('<id>', 'the entry id')).action(
    async (id: string, options: { json?: boolean }, cmd: Command) => {
      const entry = await connect(contextOf(cmd)).client.getMemoryRecord({ params: { id } });
      if (options.json) return printJson(entry);
      printEntry(entry);
    },
  );

  withJson(
    memory.command('search').description('full-text search of the accepted entries').argument('<words...>', 'what to look for').option('--scope <scope>', 'only agent:<id>, team:<id> or project:<id>'),
  ).action(async (words: string[], options: { scope?: string; json?: boolean }, cmd: Command) => {
    const scope = options.scope ? parseScope(options.scope) : undefined;
    const list = await connect(contextOf(cmd)).client.listMemory({ query: { q: words.join(' '), status: 'accepted', ...(scope ? { scope: scope.kind, id: scope.id } : {}) } });
    if (options.json) return printJson(list);
    printEntries(list, 'Nothing in memory matches.');
  });

  withJson(
    memory
      .command('add')
      .description('add an entry yourself (accepted at once)')
      .argument('<text...>', 'what to remember')
      .requiredOption('--scope <scope>', 'agent:<id>, team:<id> or project:<id>')
      .option('--kind <kind>', `${MEMORY_KINDS.join(', ')} (default fact)`, 'fact')
      .option('--pin', 'put it into every turn of the scope, not only when relevant'),
  ).action(async (words: string[], options: { scope: string; kind: string; pin?: boolean; json?: boolean }, cmd: Command) => {
    const body = { scope: parseScope(options.scope), kind: parseKind(options.kind)!, text: words.join(' '), by: 'cli', ...(options.pin ? { pinned: true } : {}) };
    done(await connect(contextOf(cmd)).client.createMemory({ body }), options.json, 'Remembered');
  });

  withJson(
    memory
      .command('accept')
      .description("accept an agent's proposal (edited first with --text, --kind, --pin)")
      .argument('<id>', 'the proposal id (see `tinyagi memory pending`)')
      .option('--text <text>', 'the text as you accept it')
      .option('--kind <kind>', `accept it as ${MEMORY_KINDS.join(', ')}`)
      .option('--pin', 'pin it')
      .option('--keep', 'keep the entry it would replace'),
  ).action(async (id: string, options: { text?: string; kind?: string; pin?: boolean; keep?: boolean; json?: boolean }, cmd: Command) => {
    const kind = parseKind(options.kind);
    const body = {
      decision: 'accept' as const,
      by: 'cli',
      ...(options.text ? { text: options.text } : {}),
      ...(kind ? { kind } : {}),
      ...(options.pin ? { pinned: true } : {}),
      ...(options.keep ? { keepTarget: true } : {}),
    };
    const entry = await connect(contextOf(cmd)).client.decideMemory({ params: { id }, body });
    done(entry, options.json, entry.action === 'forget' ? `Accepted; retired ${entry.targetId}, proposal` : 'Accepted');
  });

  withJson(memory.command('reject').description("reject an agent's proposal").argument('<id>', 'the proposal id')).action(async (id: string, options: { json?: boolean }, cmd: Command) => {
    done(await connect(contextOf(cmd)).client.decideMemory({ params: { id }, body: { decision: 'reject', by: 'cli' } }), options.json, 'Rejected');
  });

  withJson(
    memory
      .command('edit')
      .description('edit an accepted entry')
      .argument('<id>', 'the entry id')
      .option('--text <text>', 'its new text')
      .option('--kind <kind>', MEMORY_KINDS.join(', '))
      .option('--pin', 'pin it')
      .option('--unpin', 'unpin it')
      .option('--expires <date>', 'no longer recalled after this date (ISO 8601), or "never"'),
  ).action(async (id: string, options: { text?: string; kind?: string; pin?: boolean; unpin?: boolean; expires?: string; json?: boolean }, cmd: Command) => {
    if (options.pin && options.unpin) throw usageError('Use either --pin or --unpin.');
    const kind = parseKind(options.kind);
    let expiresAt: number | null | undefined;
    if (options.expires !== undefined) {
      expiresAt = options.expires === 'never' ? null : Date.parse(options.expires);
      if (Number.isNaN(expiresAt)) throw usageError(`--expires takes a date (2027-01-31) or "never", not "${options.expires}".`);
    }
    const body = {
      ...(options.text ? { text: options.text } : {}),
      ...(kind ? { kind } : {}),
      ...(options.pin ? { pinned: true } : options.unpin ? { pinned: false } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
    if (Object.keys(body).length === 0) throw usageError('Give --text, --kind, --pin, --unpin or --expires.');
    done(await connect(contextOf(cmd)).client.updateMemory({ params: { id }, body }), options.json, 'Edited');
  });

  withJson(memory.command('forget').description('retire an accepted entry now (kept as history, never recalled)').argument('<id>', 'the entry id')).action(
    async (id: string, options: { json?: boolean }, cmd: Command) => {
      done(await connect(contextOf(cmd)).client.retireMemory({ params: { id }, body: { by: 'cli' } }), options.json, 'Forgot');
    },
  );

  registerFileCommands(memory);
}

/** The `.md` files under a folder (hidden ones left out), paths relative to it with `/`, in byte order. */
export function readMemoryFolder(dir: string): MemoryFile[] {
  const files: MemoryFile[] = [];
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.')) continue;
      const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push({ path, content: readFileSync(join(dir, path), 'utf8') });
    }
  };
  walk('');
  return files;
}

function registerFileCommands(memory: Command): void {
  withJson(
    memory
      .command('import')
      .description("import an agent's memory/*.md files as accepted entries of its memory (each file once)")
      .requiredOption('--agent <id>', 'the agent')
      .option('--dir <dir>', "a folder of .md files (default: the agent's workspace memory/ folder, read by the daemon)"),
  ).action(async (options: { agent: string; dir?: string; json?: boolean }, cmd: Command) => {
    const files = options.dir === undefined ? undefined : readMemoryFolder(resolve(options.dir));
    const result = await connect(contextOf(cmd)).client.importMemory({ body: { agentId: options.agent, ...(files ? { files } : {}) } });
    if (options.json) return printJson(result);
    for (const e of result.imported) println(`Imported ${e.provenance.proposedBy.replace(/^import:/, '')} as ${e.id}`);
    for (const s of result.skipped) println(`Skipped ${s.path}: ${s.reason}`);
    println(`${result.imported.length} imported, ${result.already} imported before, ${result.skipped.length} skipped.`);
  });

  withJson(
    memory
      .command('export')
      .description("write an agent's accepted entries as memory/*.md files (name and summary front matter)")
      .requiredOption('--agent <id>', 'the agent')
      .option('--dir <dir>', 'the folder to write into (default ./memory)', 'memory'),
  ).action(async (options: { agent: string; dir: string; json?: boolean }, cmd: Command) => {
    const files = await connect(contextOf(cmd)).client.exportMemory({ query: { agent: options.agent } });
    if (options.json) return printJson(files);
    const root = resolve(options.dir);
    for (const file of files) {
      const target = resolve(root, file.path);
      if (!target.startsWith(`${root}/`)) throw usageError(`The daemon named a file outside ${root}: ${file.path}`);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    }
    println(files.length === 0 ? `Agent ${options.agent} has no accepted entries.` : `Wrote ${files.length} file${files.length === 1 ? '' : 's'} into ${root}.`);
  });
}
