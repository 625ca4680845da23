/** The WhatsApp channel's descriptor (docs/kinds.md): pure data, Baileys is loaded by factory.ts only (found by the folder's name). */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { hostSettings } from '../common-settings.ts';

export const whatsappKind = defineChannelKind({
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
  processEnv: [],
  maxMessageChars: 65_000,
  capabilities: { threads: false, editsMessages: false, privateReplies: true, files: true, buttons: false },
});
