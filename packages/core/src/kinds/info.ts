/** The serialisable view of the registered kinds, as `GET /api/kinds` returns it. */
import * as z from 'zod';
import type { ChannelKind, ChannelKindInfo, Kinds, RuntimeKind, RuntimeKindInfo } from '@tinyagi/client/contract';
import { channelKinds, runtimeKinds } from './registry.ts';

export function channelKindInfo(kind: ChannelKind): ChannelKindInfo {
  return {
    family: 'channel',
    name: kind.name,
    title: kind.title,
    description: kind.description,
    settings: z.toJSONSchema(kind.settings, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
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
  };
}

export function kindsInfo(): Kinds {
  return { channels: channelKinds.list().map(channelKindInfo), runtimes: runtimeKinds.list().map(runtimeKindInfo) };
}
