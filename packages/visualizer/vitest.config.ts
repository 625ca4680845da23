import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Colour on in tests (no TTY here), so the NO_COLOR test proves the codes are really left out.
export default mergeConfig(shared, defineConfig({ test: { env: { FORCE_COLOR: '1' } } }));
