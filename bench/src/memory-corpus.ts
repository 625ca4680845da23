/**
 * The scripted memory corpus of B23 (recall's cost) and B24 (recall's quality), written for them
 * (no data set downloaded), deterministic (a seeded generator): what a team tells its agents about
 * people's preferences, its systems' facts, its decisions and its procedures, each statement a
 * template filled from lists, each with the question a person would ask of it.
 *
 * - `qualityCorpus()`: 50 conversations stating 200 items (50 of each kind), 30 of them restated
 *   later with another value (a contradiction), and 100 questions whose answer is in exactly one
 *   current entry.
 * - `bulkEntries(n)` / `bulkMessages(n)`: n statements and questions from the same templates over
 *   larger lists (B23's 10,000 entries in scope and the turns' messages).
 */
import type { MemoryKind } from '@tinyagi/client/contract';

/** A deterministic generator (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;

const FIRST = ['Carol', 'Bob', 'Ann', 'Dev', 'Eve', 'Frank', 'Grace', 'Hugo', 'Iris', 'Jack', 'Kenji', 'Lena', 'Mona', 'Nils', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Tariq'];
const LAST = ['Diaz', 'Lin', 'Park', 'Shah', 'Moreau', 'Ito', 'Kim', 'Silva', 'Novak', 'Okafor', 'Berg', 'Costa', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Larsen', 'Mendes', 'Nakamura', 'Ortiz'];
const COMPANIES = ['ACME', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Tyrell', 'Soylent', 'Cyberdyne'];
const ROLES = ['procurement', 'finance', 'engineering', 'support', 'legal', 'marketing', 'operations', 'security', 'design', 'sales'];

const SYSTEMS = [
  'billing service',
  'search cluster',
  'login page',
  'nightly backup',
  'CI runners',
  'staging database',
  'analytics pipeline',
  'mail relay',
  'feature-flag service',
  'image CDN',
  'payment gateway',
  'audit log',
  'chat widget',
  'export worker',
  'metrics store',
  'admin console',
  'webhook dispatcher',
  'PDF renderer',
  'rate limiter',
  'session store',
];
const HOSTS = ['atlas-3', 'boreas-1', 'cygnus-7', 'draco-2', 'eos-5', 'fornax-4', 'gemini-9', 'hydra-6', 'indus-8', 'lyra-2', 'mensa-1', 'norma-3'];
const REGIONS = ['Frankfurt', 'Dublin', 'Virginia', 'Oregon', 'Tokyo', 'Sydney', 'Paris', 'Stockholm'];
const OWNERS = ['platform', 'payments', 'growth', 'data', 'security', 'identity', 'infrastructure', 'mobile', 'web', 'reliability'];
const LANGUAGES = ['Go', 'Rust', 'TypeScript', 'Python', 'Kotlin', 'Elixir', 'Java', 'C#', 'Ruby', 'Scala'];
const BUILDERS = ['Bazel', 'Gradle', 'Cargo', 'pnpm', 'Poetry', 'Mix', 'Maven', 'make'];
const REPOS = ['monolith', 'infra-live', 'services', 'platform-core', 'edge', 'backoffice', 'pipelines', 'web-app'];

const CHANNELS = ['Slack', 'email', 'Signal', 'Microsoft Teams', 'WhatsApp', 'a phone call'];
const REPLY_LANGUAGES = ['French', 'German', 'Spanish', 'Portuguese', 'Japanese', 'Italian', 'Dutch', 'Polish'];
const INVOICE_FORMS = ['PDF attachments', 'links to the billing portal', 'paper copies by post', 'CSV exports', 'XML files for their ERP', 'scanned copies'];
const MEETING_SLOTS = ['Tuesday mornings', 'Wednesday afternoons', 'Monday at ten', 'Thursday after lunch', 'early Friday mornings', 'Tuesday at four'];
const REPORT_LENGTHS = ['one page', 'three bullet points', 'five lines', 'half a page', 'two short paragraphs', 'a single table'];

const PURPOSES = [
  'error tracking',
  'feature flags',
  'load testing',
  'API documentation',
  'secrets storage',
  'the container registry',
  'the job queue',
  'log storage',
  'on-call paging',
  'design reviews',
  'end-to-end tests',
  'database migrations',
  'dependency updates',
  'uptime checks',
  'the status page',
  'product analytics',
  'customer support tickets',
  'internal wiki',
  'diagram drawing',
  'code search',
  'release notes',
  'load balancing',
  'DNS hosting',
  'email delivery',
  'video calls',
  'password management',
  'the VPN',
  'mobile crash reports',
  'A/B experiments',
  'translation of the app',
  'invoicing',
  'contract signatures',
  'expense reports',
  'time tracking',
  'hiring pipelines',
  'office booking',
  'vulnerability scans',
  'static analysis',
  'code formatting',
  'benchmark dashboards',
  'data warehouse',
  'ETL jobs',
  'object storage',
  'CDN caching',
  'search indexing',
  'PDF generation',
  'image resizing',
  'SMS notifications',
  'push notifications',
  'backups of laptops',
];
const TOOLS = [
  'Sentry',
  'Unleash',
  'k6',
  'Redocly',
  'Vault',
  'Harbor',
  'Postgres',
  'Loki',
  'PagerDuty',
  'Figma',
  'Playwright',
  'Flyway',
  'Renovate',
  'Checkly',
  'Statuspage',
  'PostHog',
  'Zendesk',
  'Outline',
  'Excalidraw',
  'Sourcegraph',
  'Changesets',
  'HAProxy',
  'Cloudflare',
  'Postmark',
  'Jitsi',
  'Bitwarden',
  'WireGuard',
  'Crashlytics',
  'GrowthBook',
  'Weblate',
];
const REASONS = [
  'it is open source',
  'it was the cheapest',
  'the team already knew it',
  'it runs on our own servers',
  'it had the best API',
  'the audit required it',
  'it was the fastest in our trial',
];

const TASKS = [
  'rotate the API keys',
  'restore a backup',
  'deploy the website',
  'cut a release',
  'add a new customer',
  'reset a password',
  'refund a payment',
  'add a feature flag',
  'onboard a new engineer',
  'renew the TLS certificates',
  'scale the search cluster',
  'purge the CDN cache',
  'replay failed webhooks',
  'rebuild the search index',
  'export a customer’s data',
  'delete a customer’s data',
  'rotate the on-call schedule',
  'update the status page',
  'bump a dependency',
  'add a new region',
  'invite someone to the wiki',
  'publish the release notes',
  'archive an old project',
  'change the DNS records',
  'run the load tests',
  'regenerate the API client',
  'translate a new screen',
  'add a payment method',
  'close the books at month end',
  'open a security incident',
  'rerun the nightly jobs',
  'raise a quota',
  'block an abusive account',
  'restart the mail relay',
  'clean up old branches',
  'tag a docker image',
  'reindex the audit log',
  'sync the staging database',
  'seed a demo account',
  'file an expense',
  'book the meeting room',
  'request a laptop',
  'ship a hotfix',
  'roll back a deploy',
  'review a pull request',
  'write a postmortem',
  'rotate the database password',
  'grant production access',
  'revoke production access',
  'set up a new laptop',
];
const COMMANDS = ['make rotate', './scripts/run.sh', 'pnpm ops', 'just deploy', 'bin/tool', 'ops-cli', 'task run', 'npm run ops'];
const STEPS = [
  'post the result in the ops channel',
  'ask a second person to check it',
  'note it in the change log',
  'watch the dashboards for ten minutes',
  'close the ticket with a link',
  'tell support before noon',
];

export interface Item {
  key: string;
  kind: MemoryKind;
  /** The statement with value index `v` (a contradiction restates with another value). */
  text: (v: number) => string;
  /** How many values there are. */
  values: number;
  question: string;
}

function personItems(first: string, last: string, company: string, role: string): Item[] {
  const p = `${first} ${last}`;
  return [
    {
      key: `${p}/channel`,
      kind: 'preference',
      values: CHANNELS.length,
      text: (v) => `${p} from ${role} at ${company} prefers to be contacted on ${CHANNELS[v]}, ideally before noon.`,
      question: `How should we contact ${first} ${last}?`,
    },
    {
      key: `${p}/language`,
      kind: 'preference',
      values: REPLY_LANGUAGES.length,
      text: (v) => `${p} wants replies written in ${REPLY_LANGUAGES[v]}, even when the thread started in English.`,
      question: `Which language should replies to ${first} be written in?`,
    },
    {
      key: `${p}/invoices`,
      kind: 'preference',
      values: INVOICE_FORMS.length,
      text: (v) => `${p} at ${company} asks for invoices as ${INVOICE_FORMS[v]}, sent on the first working day of the month.`,
      question: `In what form does ${first} want the invoices?`,
    },
    {
      key: `${p}/meetings`,
      kind: 'preference',
      values: MEETING_SLOTS.length,
      text: (v) => `${p} likes meetings on ${MEETING_SLOTS[v]} and never on Friday afternoons.`,
      question: `When does ${first} ${last} like to have meetings?`,
    },
    {
      key: `${p}/reports`,
      kind: 'preference',
      values: REPORT_LENGTHS.length,
      text: (v) => `${p} reads status reports of at most ${REPORT_LENGTHS[v]}, with the risks listed first.`,
      question: `How long should a status report for ${first} be?`,
    },
  ];
}

function systemItems(system: string, i: number): Item[] {
  const region = REGIONS[i % REGIONS.length];
  return [
    {
      key: `${system}/host`,
      kind: 'fact',
      values: HOSTS.length,
      text: (v) => `The ${system} runs on ${HOSTS[v]} in the ${region} region, behind the internal load balancer.`,
      question: `Which host does the ${system} run on?`,
    },
    {
      key: `${system}/owner`,
      kind: 'fact',
      values: OWNERS.length,
      text: (v) => `The ${system} is owned by the ${OWNERS[v]} team; page them for incidents outside office hours.`,
      question: `Which team owns the ${system}?`,
    },
    {
      key: `${system}/language`,
      kind: 'fact',
      values: LANGUAGES.length,
      text: (v) => `The ${system} is written in ${LANGUAGES[v]} and built with ${BUILDERS[(v + i) % BUILDERS.length]}.`,
      question: `What programming language is the ${system} written in?`,
    },
    {
      key: `${system}/port`,
      kind: 'fact',
      values: 50,
      text: (v) => `The ${system} listens on port ${8000 + v * 7 + i} and answers its health check on /healthz.`,
      question: `Which port does the ${system} listen on?`,
    },
    {
      key: `${system}/repo`,
      kind: 'fact',
      values: REPOS.length,
      text: (v) => `The code of the ${system} lives in the ${REPOS[v]} repository, under services/.`,
      question: `In which repository is the code of the ${system}?`,
    },
  ];
}

function decisionItem(purpose: string, i: number): Item {
  return {
    key: `decision/${purpose}`,
    kind: 'decision',
    values: TOOLS.length,
    text: (v) => `We decided to use ${TOOLS[v]} for ${purpose} because ${REASONS[(v + i) % REASONS.length]}.`,
    question: `What did we decide to use for ${purpose}?`,
  };
}

function procedureItem(task: string, i: number): Item {
  return {
    key: `procedure/${task}`,
    kind: 'procedure',
    values: COMMANDS.length,
    text: (v) => `To ${task}, run ${COMMANDS[v]} ${task.split(' ')[0]} from the repository root, then ${STEPS[(v + i) % STEPS.length]}.`,
    question: `How do we ${task}?`,
  };
}

export interface QualityStatement {
  item: Item;
  value: number;
  /** The item stated before with another value (a contradiction), or undefined. */
  replaces?: number | undefined;
}

export interface QualityCorpus {
  items: Item[];
  /** 50 conversations, oldest first, each a list of statements. */
  conversations: QualityStatement[][];
  /** 100 questions, each answered by the current statement of one item (by index into `items`). */
  questions: Array<{ text: string; item: number }>;
  /** The items restated with another value. */
  contradicted: number[];
}

/** B24's corpus: 200 items (50 preferences of 10 people, 50 facts of 10 systems, 50 decisions, 50 procedures), stated in 50 conversations. */
export function qualityCorpus(seed = 24): QualityCorpus {
  const rnd = seeded(seed);
  const items: Item[] = [
    ...FIRST.slice(0, 10).flatMap((first, i) => personItems(first, LAST[i]!, COMPANIES[i]!, ROLES[i]!)),
    ...SYSTEMS.slice(0, 10).flatMap((s, i) => systemItems(s, i)),
    ...PURPOSES.map((p, i) => decisionItem(p, i)),
    ...TASKS.map((t, i) => procedureItem(t, i)),
  ];
  const order = shuffle(
    rnd,
    items.map((_, i) => i),
  );
  const values = items.map((item) => Math.floor(rnd() * item.values));
  // The first 40 conversations state the 200 items, 5 each; the last 10 restate 30 of them with another value (3 each) and state nothing else new.
  const conversations: QualityStatement[][] = [];
  for (let c = 0; c < 40; c++) conversations.push(order.slice(c * 5, c * 5 + 5).map((i) => ({ item: items[i]!, value: values[i]! })));
  const contradicted = shuffle(rnd, order.slice(0, 160)).slice(0, 30);
  const current = [...values];
  for (let c = 0; c < 10; c++) {
    conversations.push(
      contradicted.slice(c * 3, c * 3 + 3).map((i) => {
        const item = items[i]!;
        current[i] = (values[i]! + 1 + Math.floor(rnd() * (item.values - 1))) % item.values;
        return { item, value: current[i]!, replaces: values[i] };
      }),
    );
  }
  // 100 questions: every contradicted item (its answer is the replacement) and 70 others.
  const others = shuffle(
    rnd,
    order.filter((i) => !contradicted.includes(i)),
  ).slice(0, 70);
  const questions = shuffle(rnd, [...contradicted, ...others]).map((i) => ({ text: items[i]!.question, item: i }));
  return { items, conversations, questions, contradicted };
}

/** `n` statements over the larger lists (people from 400 names, 20 systems, 50 purposes and tasks), for B23. */
export function bulkEntries(n: number, seed = 23): Array<{ kind: MemoryKind; text: string }> {
  const rnd = seeded(seed);
  const pool = bulkItems(rnd);
  return Array.from({ length: n }, () => {
    const item = pick(rnd, pool);
    return { kind: item.kind, text: item.text(Math.floor(rnd() * item.values)) };
  });
}

/** `n` questions from the same templates (the turns' messages in B23). */
export function bulkMessages(n: number, seed = 230): string[] {
  const rnd = seeded(seed);
  const pool = bulkItems(rnd);
  return Array.from({ length: n }, () => pick(rnd, pool).question);
}

function bulkItems(rnd: () => number): Item[] {
  const people = FIRST.flatMap((first) => LAST.map((last) => [first, last] as const));
  return [
    ...people.flatMap(([first, last]) => personItems(first, last, pick(rnd, COMPANIES), pick(rnd, ROLES))),
    ...SYSTEMS.flatMap((s, i) => systemItems(s, i)),
    ...PURPOSES.map((p, i) => decisionItem(p, i)),
    ...TASKS.map((t, i) => procedureItem(t, i)),
  ];
}

function shuffle<T>(rnd: () => number, list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
