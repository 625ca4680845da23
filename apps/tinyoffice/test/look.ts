/**
 * What the browser tests look at, in one place. `look` runs axe on the page as it is, in the light
 * and the dark theme (at each width given, else at the current one), and fails the test on every
 * violation of moderate impact or worse. `shot` writes a screenshot only when TINYOFFICE_SHOTS asks
 * for them (`1`: into test-results/shots; any other value: that directory); by default none.
 */
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';

const asked = process.env['TINYOFFICE_SHOTS'] ?? '';
/** Where screenshots go, or undefined: none are written. */
export const SHOTS_DIR = asked === '' || asked === '0' ? undefined : asked === '1' ? fileURLToPath(new URL('../test-results/shots', import.meta.url)) : resolve(asked);

/** A full-page screenshot, `<spec>-<name>.png`, when screenshots are asked for. */
export async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS_DIR === undefined) return;
  mkdirSync(SHOTS_DIR, { recursive: true });
  const file = `${basename(test.info().file, '.spec.ts')}-${name}`.replace(/[^\w.]+/g, '-').replace(/-+$/, '');
  await page.screenshot({ path: join(SHOTS_DIR, `${file}.png`), fullPage: true });
}

/**
 * axe on the page in light and dark, at each of `widths` (default: the current width); a
 * screenshot of each when asked for. The theme and viewport are as they were afterwards.
 */
export async function look(page: Page, name: string, { widths }: { widths?: number[] } = {}): Promise<void> {
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
  const wasDark = await page.evaluate(() => document.documentElement.classList.contains('dark'));
  const problems: string[] = [];
  for (const width of widths ?? [viewport.width]) {
    if (width !== page.viewportSize()?.width) await resize(page, { width, height: viewport.height });
    for (const dark of [false, true]) {
      await page.evaluate((on) => document.documentElement.classList.toggle('dark', on), dark);
      // Legacy mode: axe.run in the page itself. The default opens a new tab per check to merge
      // the results of each frame (our pages have none), which about doubles the time. Only
      // violations are collected in full (passes and the rest keep one node each): a third less.
      const { violations } = await new AxeBuilder({ page })
        .setLegacyMode(true)
        .options({ resultTypes: ['violations'] })
        .analyze();
      const where = `${name} ${width} ${dark ? 'dark' : 'light'}`;
      for (const v of violations) {
        if (v.impact === 'moderate' || v.impact === 'serious' || v.impact === 'critical') {
          problems.push(`${where}: ${v.id} ${v.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('; ')}`);
        }
      }
      await shot(page, `${name}-${width}-${dark ? 'dark' : 'light'}`);
    }
  }
  await page.evaluate((on) => document.documentElement.classList.toggle('dark', on), wasDark);
  if (page.viewportSize()?.width !== viewport.width) await resize(page, viewport);
  expect(problems).toEqual([]);
}

/**
 * Sets the viewport and waits for the page's resize event. The browser fires it at its next
 * rendering step, which on a busy machine can come after the test's next keypress: a keyboard drag
 * picked up then (dnd-kit's sensor cancels on resize) was dropped at once.
 */
async function resize(page: Page, size: { width: number; height: number }): Promise<void> {
  await page.evaluate(() => {
    (window as { resized?: Promise<void> }).resized = new Promise((done) => addEventListener('resize', () => done(), { once: true }));
  });
  await page.setViewportSize(size);
  await page.evaluate(() => (window as { resized?: Promise<void> }).resized);
}
