import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The channel tests wait on platforms, agents and restarts far more than they compute (a whole run:
// about 80 s of CPU in 2 minutes on a 2-core machine), so three files run at once, not one per core
// less one (vitest's default: a single worker there). The in-process host tests (host-*.test.ts)
// run the cases that share nothing side by side, more of them at once than vitest's default of 5.
export default mergeConfig(shared, { test: { maxWorkers: 3, maxConcurrency: 16 } });
