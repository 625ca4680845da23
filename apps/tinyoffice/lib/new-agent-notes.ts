/**
 * What the daemon said when it made an agent (POST /api/agents `notes` and `warnings`: sandboxed,
 * asks, warm; its CLI not installed, a sandbox that could not be turned on), kept for the agent's
 * page the form opens next. Held in the tab only: the page shows them once.
 */
import type { NewAgentNoteView } from '@tinyagi/client';

export interface NewAgentNotes {
  notes: NewAgentNoteView[];
  warnings: NewAgentNoteView[];
}

const held = new Map<string, NewAgentNotes>();

export function holdNewAgentNotes(id: string, notes: NewAgentNotes): void {
  if (notes.notes.length > 0 || notes.warnings.length > 0) held.set(id, notes);
}

/** The notes of an agent made in this tab, once. */
export function takeNewAgentNotes(id: string): NewAgentNotes | undefined {
  const notes = held.get(id);
  held.delete(id);
  return notes;
}
