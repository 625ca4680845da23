/**
 * What an agent receives for one run: its claimed messages (a collected batch is separated
 * clearly, one section per message), preceded by what memory recalled for them (one delimited
 * block, docs/memory.md) and notes from TinyAGI about its previous turn.
 */
export interface PromptPart {
  text: string;
  from: string | null;
}

export function composeRunPrompt(parts: readonly PromptPart[], notes: readonly string[], memoryBlock = ''): string {
  const sections: string[] = [];
  if (memoryBlock !== '') sections.push(memoryBlock);
  if (notes.length > 0) sections.push(notes.map((n) => `[Note from TinyAGI] ${n}`).join('\n'));
  if (parts.length === 1) {
    sections.push(parts[0]!.text);
  } else {
    sections.push(`You received ${parts.length} messages since your last turn. Each is in its own section below; answer them together in one reply.`);
    parts.forEach((part, i) => {
      sections.push(`----- message ${i + 1} of ${parts.length}${part.from ? ` · from @${part.from}` : ''} -----\n${part.text}`);
    });
  }
  return sections.join('\n\n');
}
