/** The serialisable view of the registered kinds, as `GET /api/kinds` returns it. */
import * as z from 'zod';
import { ChannelCommonSettingsSchema, type ChannelKind, type ChannelKindInfo, type Kinds, type RuntimeKind, type RuntimeKindInfo } from '@tinyagi/client/contract';
import { channelKinds } from './registry.ts';
import { runtimeKinds } from './runtimes/index.ts';

/** The kind's block schema, with the settings every channel takes (live_replies) when the kind's own schema leaves them out. */
function channelSettingsSchema(kind: ChannelKind): Record<string, unknown> {
  const schema = z.toJSONSchema(kind.settings, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const properties = schema['properties'];
  if (properties === null || typeof properties !== 'object') return schema;
  const common = (z.toJSONSchema(ChannelCommonSettingsSchema, { io: 'input' }) as { properties?: Record<string, unknown> }).properties ?? {};
  // The kind's own keys first, in its order; its own definition wins.
  return { ...schema, properties: { ...(properties as Record<string, unknown>), ...Object.fromEntries(Object.entries(common).filter(([key]) => !(key in properties))) } };
}

export function channelKindInfo(kind: ChannelKind): ChannelKindInfo {
  return {
    family: 'channel',
    name: kind.name,
    title: kind.title,
    description: kind.description,
    settings: channelSettingsSchema(kind),
    secrets: [...kind.secrets],
    env: kind.env.map((e) => ({ variable: e.variable, path: e.path })),
    login: kind.login,
    maxMessageChars: kind.maxMessageChars,
    capabilities: { ...kind.capabilities },
  };
}

export function runtimeKindInfo(kind: RuntimeKind): RuntimeKindInfo {
  return {
    family: 'runtime',
    name: kind.name,
    aliases: [...kind.aliases],
    title: kind.title,
    description: kind.description,
    command: kind.command,
    installHint: kind.installHint,
    passthroughEnv: [...kind.passthroughEnv],
    capabilities: { ...kind.capabilities },
    instructionFiles: [...kind.instructionFiles],
    modelAliases: { ...kind.modelAliases },
    modelsBlock: kind.modelsBlock,
    customProvider: kind.customProvider === null ? null : { ...kind.customProvider },
    retry: kind.retry,
    steerPoint: kind.steerPoint,
    settings: kind.settings === undefined ? null : (z.toJSONSchema(kind.settings, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
    verifiedVersions: kind.verifiedVersions === undefined ? null : { ...kind.verifiedVersions, versionArgs: [...kind.verifiedVersions.versionArgs], features: { ...kind.verifiedVersions.features } },
    telemetryProvider: kind.telemetryProvider === undefined ? kind.name : typeof kind.telemetryProvider === 'string' ? kind.telemetryProvider : { fromModel: true },
  };
}

export function kindsInfo(): Kinds {
  return { channels: channelKinds.list().map(channelKindInfo), runtimes: runtimeKinds.list().map(runtimeKindInfo) };
}
