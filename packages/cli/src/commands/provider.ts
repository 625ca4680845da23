/**
 * `tinyagi provider` (show), `provider anthropic|openai [--api-key|--oauth-token|--model]` (the
 * vendors' credentials in models.anthropic / models.openai, which the runtimes use),
 * `provider list|add|remove` (custom providers: an endpoint with its own base URL and key, run by
 * one of the runtimes whose descriptor allows it; docs/kinds.md).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Settings } from '@tinyagi/core';
import { DEFAULT_AGENT_RUNTIME, agentProvider, customProviderRuntimes, customProviderWithRuntime, customRuntimeName, maskSettings, providerRuntime, secretStatus } from '../core-internal.ts';
import { settingsEditor } from '../settings-editor.ts';
import { printFields, printJson, printTable, println } from '../output/print.ts';
import { askSecret, askSelect, askText, confirmOrRefuse } from '../output/prompts.ts';
import { style } from '../output/style.ts';
import { contextOf, parseId, withJson } from './options.ts';

/** A runtime a custom provider can use (an old name becomes the new one). */
function parseCustomRuntime(value: string): string {
  const runtime = customRuntimeName(value);
  if (customProviderRuntimes().includes(runtime)) return runtime;
  throw new InvalidArgumentError(`use one of: ${customProviderRuntimes().join(', ')}.`);
}

/** `api_key=sk-…abcd model=x`, with `oauth_token=not set` for a known secret that has no value. */
function builtinLine(name: 'anthropic' | 'openai', fields: Record<string, unknown>, secrets: { path: string; set: boolean }[]): string {
  const unset = secrets.filter((s) => !s.set && s.path.startsWith(`models.${name}.`)).map((s) => s.path.slice(`models.${name}.`.length));
  const parts = [
    ...Object.entries(fields)
      .filter(([k]) => !unset.includes(k))
      .map(([k, v]) => `${k}=${String(v)}`),
    ...unset.map((k) => `${k}=${style.dim('not set')}`),
  ];
  return Object.keys(fields).length > 0 ? parts.join(' ') : style.dim('not configured');
}

function showProviders(settings: Settings, json: boolean): void {
  const masked = maskSettings(settings);
  const view = {
    default: masked.models?.provider !== undefined ? providerRuntime(masked.models.provider) : null,
    anthropic: masked.models?.anthropic ?? {},
    openai: masked.models?.openai ?? {},
    custom: Object.entries(masked.custom_providers ?? {}).map(([id, p]) => ({ id, ...customProviderWithRuntime(p) })),
    agents: Object.entries(masked.agents ?? {}).map(([id, a]) => ({ id, provider: agentProvider(masked, a), model: a.model ?? null })),
    // The same set flags as GET /api/providers. Masking keeps "set" intact (a stored value masks
    // to a non-empty string, an empty one stays empty), so masked settings are enough.
    secrets: secretStatus(masked).filter((s) => /^(?:models|custom_providers)[.[]/.test(s.path)),
  };
  if (json) {
    printJson(view);
    return;
  }
  printFields([
    ['default provider', view.default ?? `${DEFAULT_AGENT_RUNTIME} (implicit)`],
    ['anthropic', builtinLine('anthropic', view.anthropic, view.secrets)],
    ['openai', builtinLine('openai', view.openai, view.secrets)],
  ]);
  println();
  printTable(
    ['AGENT', 'PROVIDER', 'MODEL'],
    view.agents.map((a) => [a.id, a.provider, a.model ?? style.dim('default')]),
    'No agents.',
  );
  if (view.custom.length > 0) {
    println();
    printTable(
      ['CUSTOM', 'RUNTIME', 'BASE URL', 'MODEL'],
      view.custom.map((p) => [p.id, p.runtime ?? '', p.base_url ?? '', p.model ?? '']),
    );
  }
}

function registerBuiltin(provider: Command, name: 'anthropic' | 'openai'): void {
  const cmd = provider
    .command(name)
    .description(`set the ${name} credentials or model and make ${providerRuntime(name)} the default runtime`)
    .option('--api-key <key>', `${name} API key`)
    .option('--model <model>', 'default model for this provider')
    .option('--no-default', `do not make ${providerRuntime(name)} the default runtime (models.provider)`);
  if (name === 'anthropic') cmd.option('--oauth-token <token>', 'Claude subscription OAuth token (from `claude setup-token`)');
  cmd.action(async (options: { apiKey?: string; oauthToken?: string; model?: string; default: boolean }, command: Command) => {
    const editor = settingsEditor(contextOf(command));
    const fields = {
      ...(options.apiKey !== undefined ? { api_key: options.apiKey } : {}),
      ...(options.oauthToken !== undefined ? { oauth_token: options.oauthToken } : {}),
      ...(options.model !== undefined ? { model: options.model } : {}),
    };
    await editor.setProvider(name, { ...fields, make_default: options.default });
    const changed = Object.keys(fields);
    println(`${name}: ${changed.length > 0 ? `set ${changed.join(', ')}` : 'no credentials changed'}${options.default ? `; ${providerRuntime(name)} is now the default runtime` : ''}.`);
    println(style.dim('Agents that name their own provider keep it; switch one with `tinyagi agent provider <id> <provider>`.'));
  });
}

export function registerProviderCommands(program: Command): void {
  const provider = withJson(program.command('provider').description('show providers; set anthropic/openai credentials; manage custom providers')).action(
    async (options: { json?: boolean }, cmd: Command) => showProviders(await settingsEditor(contextOf(cmd)).read(), options.json === true),
  );
  registerBuiltin(provider, 'anthropic');
  registerBuiltin(provider, 'openai');

  withJson(provider.command('list').alias('ls').description('list custom providers')).action(async (options: { json?: boolean }, cmd: Command) => {
    const settings = await settingsEditor(contextOf(cmd)).read();
    const rows = Object.entries(settings.custom_providers ?? {}).map(([id, p]) => ({ id, ...customProviderWithRuntime(p) }));
    if (options.json) return printJson(rows);
    printTable(
      ['ID', 'NAME', 'RUNTIME', 'BASE URL', 'MODEL', 'API KEY'],
      rows.map((p) => [p.id, p.name ?? '', p.runtime ?? '', p.base_url ?? '', p.model ?? '', p.api_key ? p.api_key : style.dim('not set')]),
      'No custom providers. Add one with `tinyagi provider add`.',
    );
  });

  provider
    .command('add')
    .description('add a custom provider (agents use it as provider "custom:<id>")')
    .argument('[id]', 'provider id', parseId)
    .option('--name <name>', 'display name')
    .option('--runtime <runtime>', `the runtime that talks to it: ${customProviderRuntimes().join(', ')}`, parseCustomRuntime)
    // The option's old name, still accepted (scripts written before the rename).
    .addOption(new Option('--harness <runtime>').argParser(parseCustomRuntime).hideHelp())
    .option('--base-url <url>', 'API base URL, e.g. http://127.0.0.1:11434/v1')
    .option('--api-key <key>', 'API key (optional for local servers)')
    .option('--model <model>', 'model name')
    .action(async (idArg: string | undefined, options: { name?: string; runtime?: string; harness?: string; baseUrl?: string; apiKey?: string; model?: string }, cmd: Command) => {
      const editor = settingsEditor(contextOf(cmd));
      const id = await askText(idArg, { flag: 'the provider id', message: 'Provider id', placeholder: 'local' });
      parseId(id);
      const given = options.runtime ?? options.harness;
      const runtime = await askSelect(given, { flag: '--runtime', message: 'Runtime', choices: customProviderRuntimes().map((r) => ({ value: r })) });
      const baseUrl = await askText(options.baseUrl, {
        flag: '--base-url',
        message: 'Base URL',
        validate: (v) => (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol) ? undefined : 'use an http(s) URL'),
      });
      const apiKey = options.apiKey ?? (given === undefined ? await askSecret(undefined, { flag: '--api-key', message: 'API key (empty for none)' }) : undefined);
      await editor.putCustomProvider(id, {
        runtime,
        base_url: baseUrl,
        name: options.name ?? id,
        ...(apiKey ? { api_key: apiKey } : {}),
        ...(options.model !== undefined ? { model: options.model } : {}),
      });
      println(`Added custom provider ${id}. Use it with: tinyagi agent provider <agent> custom:${id}`);
    });

  provider
    .command('remove')
    .alias('rm')
    .description('remove a custom provider (refused while an agent uses it)')
    .argument('<id>', 'provider id', parseId)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (id: string, options: { yes?: boolean }, cmd: Command) => {
      const editor = settingsEditor(contextOf(cmd));
      await confirmOrRefuse(`Remove custom provider "${id}"?`, options.yes);
      await editor.deleteCustomProvider(id);
      println(`Removed custom provider ${id}.`);
    });
}
