import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';
import { memoryTmpdir } from '../test-kit/src/temp.ts';

// The SQLite files of the orchestrator's tests (and their temp workspaces) live in memory when the
// machine has a tmpfs: the same SQLite and fsyncs without the wait for the disk (test-kit's memoryTmpdir).
const tmp = memoryTmpdir();

// Every test process registers the channel kinds first, as every tinyagi process does (docs/kinds.md).
export default mergeConfig(shared, { test: { setupFiles: ['test/setup-kinds.ts'], ...(tmp ? { env: { TMPDIR: tmp } } : {}) } });
