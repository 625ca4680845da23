import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { defineChannelKind, defineRuntimeKind } from '@tinyagi/client/contract';
import { KindRegistry, channelKindInfo } from '../src/kinds/index.ts';

const capabilities = { keepsSession: false, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: false, usesTools: false };
const runtime = (name: string, aliases: string[] = []) =>
  defineRuntimeKind({
    name,
    aliases,
    title: name,
    description: '',
    command: null,
    installHint: null,
    passthroughEnv: [],
    capabilities,
    instructionFiles: [],
    modelAliases: {},
    modelsBlock: null,
    customProvider: null,
    retry: 'history',
    steerPoint: null,
  });

describe('KindRegistry', () => {
  it('finds a kind by name and by alias, and unregistering restores what it replaced', () => {
    const registry = new KindRegistry('runtime');
    const first = runtime('claude-code', ['anthropic']);
    const off = registry.register(first);
    expect(registry.get('anthropic')).toBe(first);
    expect(registry.canonicalName('anthropic')).toBe('claude-code');
    const second = runtime('claude-code', ['claude']);
    const offSecond = registry.register(second);
    expect(registry.get('claude')).toBe(second);
    expect(registry.get('anthropic')).toBeUndefined();
    offSecond();
    expect(registry.get('anthropic')).toBe(first);
    off();
    expect(registry.names()).toEqual([]);
  });

  it('refuses a name taken as an alias, a bad name, and a kind of another family', () => {
    const registry = new KindRegistry('runtime');
    registry.register(runtime('claude-code', ['anthropic']));
    expect(() => registry.register(runtime('anthropic'))).toThrow(/already taken by "claude-code"/);
    expect(() => registry.register(runtime('Bad Name'))).toThrow(/Bad runtime kind name/);
    const channel = defineChannelKind({
      name: 'chat',
      title: 'Chat',
      description: '',
      settings: z.looseObject({}),
      secrets: [],
      env: [],
      login: 'token',
      processEnv: [],
      maxMessageChars: 100,
      capabilities: { threads: false, editsMessages: false, privateReplies: false, files: false, buttons: false },
    });
    expect(() => (registry as unknown as KindRegistry<typeof channel>).register(channel)).toThrow(/cannot be registered as a runtime/);
  });

  it('serialises a channel kind with the JSON Schema of its settings block', () => {
    const info = channelKindInfo(
      defineChannelKind({
        name: 'chat',
        title: 'Chat',
        description: 'A test channel',
        settings: z.looseObject({ bot_token: z.string().optional() }),
        secrets: ['bot_token'],
        env: [{ variable: 'CHAT_TOKEN', path: 'bot_token' }],
        login: 'token',
        processEnv: [],
        maxMessageChars: 100,
        capabilities: { threads: true, editsMessages: false, privateReplies: true, files: false, buttons: false },
      }),
    );
    expect(info.settings).toMatchObject({ type: 'object', properties: { bot_token: { type: 'string' } } });
    // The settings every channel takes are in its schema too, though the kind did not declare them.
    expect(info.settings).toMatchObject({ properties: { live_replies: { enum: ['off', 'status', 'text'] } } });
    expect(info.env).toEqual([{ variable: 'CHAT_TOKEN', path: 'bot_token' }]);
  });
});
