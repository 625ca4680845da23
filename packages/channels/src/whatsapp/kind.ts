/** The WhatsApp channel's descriptor (docs/kinds.md): pure data, Baileys is loaded by factory.ts only. */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { hostSettings } from '../common-settings.ts';
import type { BuiltinChannelKind } from '../kind.ts';

export const whatsappKind: BuiltinChannelKind = {
  ...defineChannelKind({
    name: 'whatsapp',
    title: 'WhatsApp',
    description: 'A WhatsApp account linked as a device (Baileys); log in by scanning a QR code.',
    settings: z.looseObject({
      /** Tests only: a module whose `createSocketFactory(block)` replaces Baileys' network socket (docs/channels-testing.md). */
      socket_module: z.string().optional(),
      ...hostSettings,
    }),
    secrets: [],
    env: [],
    login: 'qr',
    processEnv: ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'],
    maxMessageChars: 65_000,
    capabilities: { threads: false, editsMessages: false, privateReplies: true, files: true, buttons: false },
  }),
  loadAdapter: () => import('./factory.ts'),
};
