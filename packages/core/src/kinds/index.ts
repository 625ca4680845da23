export { KindRegistry, channelKinds } from './registry.ts';
// The runtime registry with the built-in runtimes' descriptors registered (their implementations: invoker/runtimes/).
export { BUILTIN_RUNTIME_KINDS, runtimeKinds } from './runtimes/index.ts';
export { channelKindInfo, kindsInfo, runtimeKindInfo } from './info.ts';
