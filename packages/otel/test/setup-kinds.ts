/** Vitest setup (vitest.config.ts): the channel kinds' stand-ins, registered as a tinyagi process registers the real ones. */
import { channelKinds } from '@tinyagi/core';
import { registerStandInChannelKinds } from '@tinyagi/test-kit/channel-kinds';

registerStandInChannelKinds((kind) => channelKinds.register(kind));
