import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// One CLI (one daemon) at a time: the real CLIs are heavy, and a loaded machine must not trip the
// short inactivity limit the hang case relies on.
export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false, testTimeout: 180_000, hookTimeout: 120_000 } }));
