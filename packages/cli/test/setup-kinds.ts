/** Vitest setup (vitest.config.ts): the built-in kinds, registered as every tinyagi process registers them. */
import { registerBuiltinKinds } from '../src/kinds.ts';

registerBuiltinKinds();
