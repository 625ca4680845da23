import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The orchestrator tests run as a tinyagi process does: the channel kinds registered first (docs/kinds.md).
export default mergeConfig(shared, { test: { setupFiles: ['test/setup-kinds.ts'] } });
