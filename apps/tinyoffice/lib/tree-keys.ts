/**
 * The keys of a WAI-ARIA tree (role="tree" of role="treeitem"s, the run tree and the workflow step
 * tree): Up/Down/Home/End move between the rendered items, Right opens an item or goes to its
 * first child, Left closes it or goes to its parent. An item opens and closes through its toggle,
 * a `button[data-toggle]` in the item's first row (`:scope > div`). Keys pressed on the buttons
 * inside an item are theirs.
 */
import type { KeyboardEvent } from 'react';

export function onTreeKey(e: KeyboardEvent<HTMLElement>): void {
  const item = e.target as HTMLElement;
  if (item.getAttribute('role') !== 'treeitem') return;
  const items = [...e.currentTarget.querySelectorAll<HTMLElement>('[role="treeitem"]')];
  const i = items.indexOf(item);
  const expanded = item.getAttribute('aria-expanded');
  const toggle = () => item.querySelector<HTMLButtonElement>(':scope > div > button[data-toggle]')?.click();
  let next: HTMLElement | null | undefined;
  if (e.key === 'ArrowDown') next = items[i + 1];
  else if (e.key === 'ArrowUp') next = items[i - 1];
  else if (e.key === 'Home') next = items[0];
  else if (e.key === 'End') next = items.at(-1);
  else if (e.key === 'ArrowRight') {
    if (expanded === 'false') toggle();
    else if (expanded === 'true') next = items[i + 1];
  } else if (e.key === 'ArrowLeft') {
    if (expanded === 'true') toggle();
    else next = item.parentElement?.closest<HTMLElement>('[role="treeitem"]');
  } else return;
  e.preventDefault();
  next?.focus();
}
