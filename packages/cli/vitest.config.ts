import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Every test process registers the built-in kinds first, as every tinyagi process does (docs/kinds.md).
export default mergeConfig(shared, { test: { setupFiles: ['test/setup-kinds.ts'] } });
