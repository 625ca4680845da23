/**
 * Counts the statements this process sends to PostgreSQL (each one a round trip: node-postgres
 * sends one statement at a time per connection), by kind. Installed by wrapping
 * `pg.Client.prototype.query`, which every pooled and LISTEN connection goes through; used by
 * B5's nodes (b5-node.ts) and by `pg-run-statements.ts` (docs/storage.md's list per run).
 *
 * `backendCpu` reads the CPU of the server's backends serving the nodes (B5's cost per run).
 *
 * A kind is the statement's text with the schema's name, literals and whitespace folded, cut to
 * its first 100 characters, so one store method's statement is one row; "(same trip)" before it
 * when it went in one pipeline behind another statement (a BEGIN or COMMIT with its statement).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** Statement text → times sent since the last take. */
const counts = new Map<string, number>();
/** The mark of a statement sent behind another in one pipeline, in its kind. */
const SAME_TRIP = '(same trip) ';
let installed = false;

/** Starts counting (idempotent). */
export function countStatements(): void {
  if (installed) return;
  installed = true;
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function counted(this: pg.Client, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    // A query sent in pipeline mode behind one not yet answered shares its round trip (storage/pg/scope.ts, runPipelined).
    const client = this as pg.Client & { pipeline?: boolean; _activeQuery?: unknown; _sentQueryQueue?: unknown[] };
    const key = client.pipeline && (client._activeQuery || (client._sentQueryQueue?.length ?? 0) > 0) ? `${SAME_TRIP}${text}` : text;
    // Counted by text and folded into kinds when taken: folding at every call was ~2 % of a B5 node's CPU.
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (trace && kindOf(text).includes(trace)) traceCaller();
    return original.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

/** `PG_TRACE=<text>`: where statements containing it come from, by caller, printed at exit (finding a statement's call sites). */
const trace = process.env.PG_TRACE;
const callers = new Map<string, number>();

function traceCaller(): void {
  const frames = (new Error().stack ?? '')
    .split('\n')
    .slice(3)
    .filter((l) => l.includes('/src/') && !l.includes('storage/pg/') && !l.includes('node_modules'));
  const key = frames
    .slice(0, 4)
    .map((l) =>
      l
        .trim()
        .replace(/^at /, '')
        .replace(/\(?file:\/\/\/work\/main\/packages\//, ''),
    )
    .join(' < ');
  callers.set(key, (callers.get(key) ?? 0) + 1);
  if (callers.size === 1 && (callers.get(key) ?? 0) === 1)
    process.once('exit', () =>
      console.error(
        [...callers]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${n}\t${k}`)
          .join('\n'),
      ),
    );
}

/** The text as one row of the list: schema names and spacing folded, savepoint names kept generic. */
export function kindOf(text: string): string {
  return text
    .replace(/"[a-z0-9_]+"\./g, '')
    .replace(/\bsp\d+\b/g, 'spN')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100);
}

/** The counts so far, and resets them. */
export function takeStatementCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [text, n] of counts) {
    const kind = text.startsWith(SAME_TRIP) ? `${SAME_TRIP}${kindOf(text.slice(SAME_TRIP.length))}` : kindOf(text);
    out[kind] = (out[kind] ?? 0) + n;
  }
  counts.clear();
  return out;
}

/** The sum of several processes' counts. */
export function addCounts(all: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Total statements in `counts`. */
export function totalStatements(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Round trips in `counts`: the statements less those that went in the same pipeline as the one before. */
export function roundTrips(counts: Record<string, number>): number {
  return Object.entries(counts).reduce((sum, [kind, n]) => (kind.startsWith(SAME_TRIP) ? sum : sum + n), 0);
}

/** A markdown table of the kinds per run, most frequent first (kinds under `minPerRun` summed into one row). */
export function statementTable(counts: Record<string, number>, runs: number, minPerRun = 0.05): string {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const lines = ['| per run | statement |', '|---|---|'];
  let rest = 0;
  for (const [kind, n] of rows) {
    if (n / runs < minPerRun) rest += n;
    else lines.push(`| ${(n / runs).toFixed(2)} | \`${kind.replaceAll('|', '\\|')}\` |`);
  }
  if (rest > 0) lines.push(`| ${(rest / runs).toFixed(2)} | (others, each under ${minPerRun} per run) |`);
  lines.push(`| **${(totalStatements(counts) / runs).toFixed(2)}** | **all statements** |`);
  lines.push(`| **${(roundTrips(counts) / runs).toFixed(2)}** | **round trips** (statements less those marked "${SAME_TRIP.trim()}") |`);
  return lines.join('\n');
}

/** /proc/PID/stat's user+sys in ms. */
function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10; // USER_HZ is 100 on Linux
}

/**
 * The CPU (ms) each backend of the connections named `applicationName` has used so far, by pid;
 * undefined when the server's processes cannot be read (a remote server, another user). Other
 * engineers' work on a shared server is not counted. `cpuSince(before, after)` is the CPU used
 * between two readings (a connection closed in between is not counted).
 */
export async function backendCpu(admin: Pick<pg.Pool, 'query'>, applicationName: string): Promise<Map<number, number> | undefined> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  const out = new Map<number, number>();
  try {
    for (const { pid } of rows) out.set(pid, procCpuMs(pid));
  } catch {
    return undefined;
  }
  return out;
}

export function cpuSince(before: Map<number, number> | undefined, after: Map<number, number> | undefined): number | undefined {
  if (!before || !after) return undefined;
  let sum = 0;
  for (const [pid, ms] of after) sum += ms - (before.get(pid) ?? 0);
  return sum;
}
