import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Every test process registers the built-in kinds first, as every tinyagi process does (docs/kinds.md).
// A file per process here (`isolate: true`, unlike the other packages): the commands run in-process
// (`runCliHere`) load the kinds of their TINYAGI_HOME into the process's one registry, as a tinyagi
// process does once, so a file after one whose home had kinds of its own would see them.
export default mergeConfig(shared, { test: { setupFiles: ['test/setup-kinds.ts'], isolate: true } });
