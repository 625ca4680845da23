/**
 * The TOML reader (invoker/toml.ts) that reads the agent CLIs' own config files: the forms a
 * user's Codex config.toml is written in (tables, dotted and quoted keys, inline tables, arrays,
 * every string form), values of every type, and errors that name the line.
 */
import { describe, expect, it } from 'vitest';
import { parseToml, TomlError } from '../src/invoker/toml.ts';

describe('TOML reader', () => {
  it('reads a Codex config as users write it: root keys, provider tables, inline tables, dotted and quoted keys, comments', () => {
    const text = [
      '# my codex setup',
      'model = "gpt-5.1"   # the default model',
      "model_provider = 'azure'",
      'model_providers.local.base_url = "http://127.0.0.1:8080/v1"',
      '',
      '[model_providers.azure]',
      'name = "Azure OpenAI"',
      'base_url = "https://me.openai.azure.com/openai"',
      'env_key = "AZURE_OPENAI_API_KEY"',
      'query_params = { api-version = "2025-04-01-preview" }',
      'env_http_headers = { "X-Team" = "TEAM_ID", \'X-Org\' = "ORG_ID" }',
      '',
      '[model_providers."open router"]',
      'env_key = "OPENROUTER_API_KEY"',
      '',
      '[projects."/home/me/repo"]',
      'trust_level = "trusted"',
      '',
      '[mcp_servers.docs]',
      'command = "npx"',
      'args = [',
      '  "-y", # the package',
      '  "docs-mcp",',
      ']',
    ].join('\n');
    expect(parseToml(text)).toEqual({
      model: 'gpt-5.1',
      model_provider: 'azure',
      model_providers: {
        local: { base_url: 'http://127.0.0.1:8080/v1' },
        azure: {
          name: 'Azure OpenAI',
          base_url: 'https://me.openai.azure.com/openai',
          env_key: 'AZURE_OPENAI_API_KEY',
          query_params: { 'api-version': '2025-04-01-preview' },
          env_http_headers: { 'X-Team': 'TEAM_ID', 'X-Org': 'ORG_ID' },
        },
        'open router': { env_key: 'OPENROUTER_API_KEY' },
      },
      projects: { '/home/me/repo': { trust_level: 'trusted' } },
      mcp_servers: { docs: { command: 'npx', args: ['-y', 'docs-mcp'] } },
    });
  });

  it('reads every string form, with escapes, line-ending backslashes and quotes before the closing delimiter', () => {
    const text = [
      'basic = "tab\\there \\"q\\" \\u00e9 \\U0001F600 \\\\"',
      "literal = 'C:\\Users\\me'",
      'multi = """',
      'one',
      'two \\',
      '    three"""',
      "raw = '''",
      "keep \\n as is''''",
      'ends = """say ""hi"""""',
    ].join('\r\n');
    expect(parseToml(text)).toEqual({
      basic: 'tab\there "q" é 😀 \\',
      literal: 'C:\\Users\\me',
      multi: 'one\r\ntwo three',
      raw: "keep \\n as is'",
      ends: 'say ""hi""',
    });
  });

  it('reads numbers, booleans, dates, arrays of tables and a __proto__ key as plain data', () => {
    const text = [
      'int = +1_000',
      'neg = -17',
      'hex = 0xdead_BEEF',
      'oct = 0o755',
      'bin = 0b1010',
      'float = 6.626e-34',
      'big = 1e6',
      'inf = -inf',
      'yes = true',
      'no = false',
      'when = 1979-05-27 07:32:00Z',
      'day = 1979-05-27',
      'nested = [[1, 2], ["a"], { x = 1 }]',
      '__proto__ = "plain"',
      '[[hooks]]',
      'name = "first"',
      '[[hooks]]',
      'name = "second"',
      '[hooks.options]',
      'quiet = true',
    ].join('\n');
    const parsed = parseToml(text);
    expect(parsed).toEqual({
      int: 1000,
      neg: -17,
      hex: 0xdeadbeef,
      oct: 0o755,
      bin: 10,
      float: 6.626e-34,
      big: 1e6,
      inf: -Infinity,
      yes: true,
      no: false,
      when: '1979-05-27 07:32:00Z',
      day: '1979-05-27',
      nested: [[1, 2], ['a'], { x: 1 }],
      ['__proto__']: 'plain',
      hooks: [{ name: 'first' }, { name: 'second', options: { quiet: true } }],
    });
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a = "open', /line 1: unterminated string/],
    ['ok = 1\nb = ', /line 2: expected a value/],
    ['x = 1\nx = 2', /line 2: "x" is defined twice/],
    ['a = 1 b = 2', /line 1: expected the end of the line/],
    ['[t\nk = 1', /line 1: expected "\]"/],
    ['k = [1 2]', /line 1: expected "," or "\]"/],
    ['k = yes', /line 1: invalid value "yes"/],
    ['k = "\\q"', /line 1: invalid escape/],
    ['a = 1\n[a]', /line 2: "a" is not a table/],
  ])('refuses %j with the line', (text, message) => {
    expect(() => parseToml(text)).toThrow(TomlError);
    expect(() => parseToml(text)).toThrow(message);
  });
});
