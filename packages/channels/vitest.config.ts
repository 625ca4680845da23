import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The in-process host tests (host-*.test.ts) run the cases that share nothing side by side, more
// of them at once than vitest's default of 5.
export default mergeConfig(shared, { test: { maxConcurrency: 16 } });
