import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// One file at a time: each packs the tinyagi package, whose prepack and postpack copy TinyOffice
// into packages/cli/office and delete it again, so two packs at once can ship a half-copied portal.
export default mergeConfig(shared, { test: { fileParallelism: false } });
