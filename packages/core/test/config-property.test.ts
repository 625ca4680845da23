import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_NAME_PATTERN } from '@tinyagi/client/contract';
import {
  BUSY_POLICIES,
  DURABILITIES,
  MOCK_FAILURES,
  REPLY_MODES,
  SESSION_MODES,
  STEER_COMMANDS,
  SettingsSchema,
  deepMergeSettings,
  loadSettings,
  validateSettings,
  writeSettings,
} from '../src/config/index.ts';
import { migrateMockReplies } from '../src/config/mock-replies.ts';
import { OLD_RUNTIME_NAMES, migrateRuntimeNames } from '../src/config/runtime-names.ts';
import { customProviderRuntimes } from '../src/invoker/index.ts';
import { runtimeKinds } from '../src/invoker/runtimes/index.ts';

/** Every name an agent's provider and a custom provider's runtime take: the registered runtimes and the old names. */
const PROVIDERS = [...runtimeKinds.names(), ...Object.keys(OLD_RUNTIME_NAMES.provider)];
const CUSTOM_RUNTIMES = [...customProviderRuntimes(), ...Object.keys(OLD_RUNTIME_NAMES.custom)];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-config-prop-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const optional = { requiredKeys: [] as never[] };
const id = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,11}$/);
const text = fc.string({ maxLength: 16 });
/** Model ids follow MODEL_NAME_PATTERN (no spaces); the empty string means the provider's default. */
const modelName = fc.stringMatching(MODEL_NAME_PATTERN).filter((m) => m.length <= 40);
const posInt = (max: number) => fc.integer({ min: 1, max });
/** Keys no version of the schema uses, with any JSON under them. */
const unknownKeys = fc.dictionary(
  id.map((k) => `x_${k}`),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 2 },
);

const limits = fc.record(
  {
    max_depth: posInt(20),
    max_hops: posInt(100),
    max_messages: posInt(500),
    max_fanout: posInt(50),
    max_children_per_run: posInt(50),
    max_concurrent_children: posInt(50),
    max_spawns_per_conversation: posInt(500),
    conversation_timeout_s: fc.double({ min: 0.5, max: 1e5, noNaN: true }),
    child_timeout_s: posInt(1e5),
    ping_pong_max: posInt(10),
  },
  optional,
);
const budgets = fc.record(
  {
    conversation_usd: fc.double({ min: 0, max: 1000, noNaN: true, noDefaultInfinity: true }),
    conversation_tokens: fc.nat(),
    agent_daily_usd: fc.double({ min: 0, max: 1000, noNaN: true, noDefaultInfinity: true }),
    soft_limit_fraction: fc.double({ min: 0.01, max: 1, noNaN: true }),
  },
  optional,
);
const usage = fc.record({ input_tokens: fc.nat(), output_tokens: fc.nat(), cost_usd: fc.double({ min: 0, max: 10, noNaN: true }) }, optional);

/** Each agent's working_directory names its own id, so no two agents share a directory. */
function agent(customProviders: string[], agentId: string) {
  return fc
    .tuple(
      fc.record(
        {
          name: text,
          provider: fc.constantFrom(...PROVIDERS, ...customProviders.map((p) => `custom:${p}`)),
          model: modelName,
          working_directory: fc.constantFrom(`/srv/agents/${agentId}`, `~/agents/${agentId}`, `$HOME/${agentId}`, `nested/${agentId}`),
          system_prompt: fc.string(),
          prompt_file: text,
          heartbeat: fc.record({ enabled: fc.boolean(), interval: posInt(86_400) }, optional),
          limits,
          timeout_s: posInt(7200),
          inactivity_s: posInt(7200),
          start_grace_s: posInt(7200),
          busy_policy: fc.constantFrom(...BUSY_POLICIES),
          session_mode: fc.constantFrom(...SESSION_MODES),
          steering: fc.subarray([...STEER_COMMANDS]),
          max_attempts: posInt(10),
          cross_team: fc.boolean(),
          mock: fc.record(
            {
              latency_ms: fc.nat(5000),
              reply: fc.string(),
              usage,
              rules: fc.array(
                fc.record(
                  {
                    match: fc.string(),
                    reply: fc.string(),
                    fail: fc.constantFrom(...MOCK_FAILURES),
                    latency_ms: fc.nat(5000),
                    spawn: fc.array(fc.record({ agent: id, task: fc.string(), session: text }, { requiredKeys: ['agent', 'task'] }), { maxLength: 2 }),
                    usage,
                  },
                  { requiredKeys: ['match'] },
                ),
                { maxLength: 3 },
              ),
            },
            optional,
          ),
        },
        optional,
      ),
      unknownKeys,
    )
    .map(([known, extra]) => ({ ...extra, ...known }));
}

const validSettings = fc
  .record({
    ids: fc.uniqueArray(id, { maxLength: 8 }),
    providers: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,7}$/), { maxLength: 3 }),
  })
  .chain(({ ids, providers }) => {
    const agentIds = ids.slice(0, Math.ceil(ids.length / 2));
    const teamIds = agentIds.length === 0 ? [] : ids.slice(agentIds.length);
    const team = () =>
      fc.subarray(agentIds, { minLength: 1 }).chain((members) =>
        fc.record(
          {
            name: fc.constant(`team of ${members.length}`),
            agents: fc.constant(members),
            leader_agent: fc.constantFrom(...members),
            reply_mode: fc.constantFrom(...REPLY_MODES),
            limits,
            budgets,
          },
          { requiredKeys: ['agents', 'leader_agent'] },
        ),
      );
    return fc.tuple(
      fc.record(
        {
          workspace: fc.record({ path: text, name: text }, optional),
          channels: fc.record(
            {
              enabled: fc.subarray(['discord', 'telegram', 'whatsapp']),
              discord: fc.record({ bot_token: fc.string() }, optional),
              telegram: fc.record({ bot_token: fc.string() }, optional),
              whatsapp: fc.constant({}),
              defaults: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('x', ...ids)),
            },
            optional,
          ),
          models: fc.record(
            {
              provider: fc.constantFrom(...PROVIDERS),
              anthropic: fc.record({ model: modelName, api_key: fc.string(), oauth_token: fc.string() }, optional),
              openai: fc.record({ model: modelName, api_key: fc.string() }, optional),
              opencode: fc.record({ model: modelName }, optional),
            },
            optional,
          ),
          agents: fc.tuple(...agentIds.map((agentId) => agent(providers, agentId))).map((list) => Object.fromEntries(list.map((a, i) => [agentIds[i], a]))),
          teams: fc.tuple(...teamIds.map(team)).map((list) => Object.fromEntries(list.map((t, i) => [teamIds[i], t]))),
          custom_providers: fc
            .tuple(
              ...providers.map(() =>
                fc.record(
                  { name: text, runtime: fc.constantFrom(...CUSTOM_RUNTIMES), harness: fc.constantFrom(...CUSTOM_RUNTIMES), base_url: fc.webUrl(), api_key: fc.string(), model: modelName },
                  optional,
                ),
              ),
            )
            .map((list) => Object.fromEntries(list.map((p, i) => [providers[i], p]))),
          monitoring: fc.record({ heartbeat_interval: posInt(86_400) }, optional),
          server: fc.record(
            {
              host: fc.constantFrom('127.0.0.1', '0.0.0.0', '::1', 'localhost'),
              port: fc.integer({ min: 0, max: 65_535 }),
              allowed_origins: fc.array(fc.webUrl(), { maxLength: 2 }),
              allowed_hosts: fc.array(fc.domain(), { maxLength: 2 }),
            },
            optional,
          ),
          queue: fc.record({ durability: fc.constantFrom(...DURABILITIES), max_attempts: posInt(20), concurrency: posInt(64), lease_ms: posInt(600_000), sweep_ms: posInt(60_000) }, optional),
          retention: fc.record({ days: posInt(365) }, optional),
          limits,
          budgets: budgets.chain((b) => fc.record({ global_daily_usd: fc.nat(1000) }, optional).map((g) => ({ ...b, ...g }))),
        },
        // Teams and provider references need their targets present.
        { requiredKeys: ['agents', 'teams', 'custom_providers'] },
      ),
      unknownKeys,
    );
  })
  .map(([known, extra]) => ({ ...extra, ...known }))
  // "__proto__" keys are rejected by the rules (see config-load.test.ts).
  .filter((settings) => !JSON.stringify(settings).includes('"__proto__"'));

/** What survives JSON (e.g. -0 becomes 0). */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('settings schema properties', () => {
  it('every generated value is valid, and the schema returns it unchanged (no defaults, no transforms)', () => {
    fc.assert(
      fc.property(validSettings, (settings) => {
        const result = validateSettings(settings);
        expect(result.ok ? [] : result.issues).toEqual([]);
        expect(SettingsSchema.parse(settings)).toEqual(settings);
      }),
      { numRuns: 300 },
    );
  });

  it("valid settings -> JSON -> load -> deep-equal, and through writeSettings too (which renames old runtime names and the mock's old `rules`)", async () => {
    const file = join(dir, 'settings.json');
    const written = join(dir, 'written.json');
    await fc.assert(
      fc.asyncProperty(validSettings, async (settings) => {
        writeFileSync(file, JSON.stringify(settings, null, 2));
        expect(loadSettings(file).settings).toEqual(viaJson(settings));
        await writeSettings(written, settings, { env: {} });
        expect(loadSettings(written).settings).toEqual(viaJson(migrateMockReplies(migrateRuntimeNames(settings))));
      }),
      { numRuns: 100 },
    );
  });
});

describe('one workspace directory per agent', () => {
  /** working_directory spellings (undefined: the default `<root>/<id>`) and the directory each names, for root /ws. */
  const SPELLINGS: Array<[string | undefined, (id: string) => string]> = [
    [undefined, (id) => `/ws/${id}`],
    ['/srv/p', () => '/srv/p'],
    ['/srv/p/', () => '/srv/p'],
    ['/srv/q/../p', () => '/srv/p'],
    ['shared', () => '/ws/shared'],
    ['./shared/', () => '/ws/shared'],
    ['/ws/shared', () => '/ws/shared'],
    ['a', () => '/ws/a'],
    ['b', () => '/ws/b'],
    ['/ws/c/', () => '/ws/c'],
  ];
  const agents = fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.nat(SPELLINGS.length - 1)), { selector: ([id]) => id, maxLength: 5 });

  it('reports exactly the agents whose directory an earlier agent already uses, at their own key', () => {
    fc.assert(
      fc.property(agents, (list) => {
        const settings = {
          workspace: { path: '/ws' },
          agents: Object.fromEntries(list.map(([id, i]) => [id, SPELLINGS[i]![0] === undefined ? {} : { working_directory: SPELLINGS[i]![0] }])),
        };
        const seen = new Set<string>();
        const expected: string[] = [];
        for (const [id, i] of list) {
          const [spelling, dirOf] = SPELLINGS[i]!;
          const dir = dirOf(id);
          if (seen.has(dir)) expected.push(spelling === undefined ? `agents.${id}` : `agents.${id}.working_directory`);
          seen.add(dir);
        }
        const result = validateSettings(settings);
        expect(result.ok ? [] : result.issues.map((issue) => issue.path)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('deepMergeSettings laws', () => {
  const json = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
  const patch = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 3 })), { maxKeys: 6 });

  it('merging {} is the identity', () => {
    fc.assert(
      fc.property(json, (base) => {
        expect(deepMergeSettings(base, {})).toEqual(base);
      }),
    );
  });

  it('merging a patch twice equals merging it once', () => {
    fc.assert(
      fc.property(json, patch, (base, p) => {
        const once = deepMergeSettings(base, p);
        expect(deepMergeSettings(once, p)).toEqual(once);
      }),
    );
  });

  it('null deletes, arrays and scalars replace, objects merge, inputs are not modified', () => {
    fc.assert(
      fc.property(json, patch, (base, p) => {
        const before = structuredClone({ base, p });
        const merged = deepMergeSettings(base, p);
        for (const [key, value] of Object.entries(p)) {
          if (value === null) expect(Object.hasOwn(merged, key)).toBe(false);
          else if (typeof value !== 'object' || Array.isArray(value)) expect(merged[key]).toEqual(value);
          else expect(merged[key]).toBeTypeOf('object');
        }
        for (const key of Object.keys(base)) if (!Object.hasOwn(p, key)) expect(merged[key]).toEqual(base[key]);
        expect({ base, p }).toEqual(before);
      }),
    );
  });

  it('merges nested objects key by key', () => {
    expect(
      deepMergeSettings(
        { agents: { a: { name: 'A', steering: ['inject'] }, b: { name: 'B' } }, queue: { concurrency: 2 } },
        { agents: { a: { steering: ['pause'], model: 'm' }, b: null }, queue: null, retention: { days: 1 } },
      ),
    ).toEqual({ agents: { a: { name: 'A', steering: ['pause'], model: 'm' } }, retention: { days: 1 } });
  });
});
