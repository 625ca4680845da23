export { KindRegistry, channelKinds, runtimeKinds } from './registry.ts';
export { channelKindInfo, kindsInfo, runtimeKindInfo } from './info.ts';
