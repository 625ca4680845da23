/** Vitest setup (vitest.config.ts): the channel kinds' stand-ins, registered as a tinyagi process registers the real ones. */
import { registerStandInChannelKinds } from '@tinyagi/test-kit/channel-kinds';
import { channelKinds } from '../src/kinds/index.ts';

registerStandInChannelKinds((kind) => channelKinds.register(kind));
