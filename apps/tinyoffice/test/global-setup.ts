/** Fails early and clearly when the browser or the build the tests need is missing. */
import { existsSync } from 'node:fs';
import { CHROMIUM } from '../playwright.config';
import { CLI_BIN, OFFICE_OUT } from './daemon';

export default function globalSetup(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium was not found at ${CHROMIUM}. Install it with \`apt-get update && apt-get install -y chromium\` (or set TINYOFFICE_CHROMIUM).`);
  }
  if (!existsSync(CLI_BIN) || !existsSync(`${OFFICE_OUT}/index.html`)) {
    throw new Error('The CLI or the TinyOffice export is not built: run `pnpm build` at the repository root first.');
  }
}
