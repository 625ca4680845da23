import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Every test process registers the built-in kinds first, as every tinyagi process does (docs/kinds.md).
// The commands run in-process (`runCliHere`) register their TINYAGI_HOME's kind modules as a
// tinyagi process does, one home's at a time (src/kinds.ts takes the previous home's out), so test
// files share a worker process here as in the other packages.
export default mergeConfig(shared, { test: { setupFiles: ['test/setup-kinds.ts'] } });
