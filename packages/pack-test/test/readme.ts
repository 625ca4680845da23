/**
 * A package README's code, as the pack test reads it: the runnable example is the first ```ts
 * block after the `## Example` heading, and what it prints is the first ```text block after
 * that. Every other ```ts block is type-checked only (it may need a daemon to run).
 */
export interface ReadmeCode {
  example: string;
  expectedOutput: string;
  snippets: string[];
}

const FENCE = /^```(\w*)\n([\s\S]*?)^```$/gm;

export function readmeCode(readme: string, where: string): ReadmeCode {
  const heading = /^## Example\s*$/m.exec(readme);
  if (!heading) throw new Error(`${where}: no "## Example" heading`);
  const blocks = [...readme.matchAll(FENCE)].map((m) => ({ lang: m[1]!, body: m[2]!, at: m.index }));
  const exampleIndex = blocks.findIndex((b) => b.lang === 'ts' && b.at > heading.index);
  if (exampleIndex < 0) throw new Error(`${where}: no \`\`\`ts block after "## Example"`);
  const output = blocks.slice(exampleIndex + 1).find((b) => b.lang === 'text');
  if (!output) throw new Error(`${where}: no \`\`\`text block (the example's output) after the example`);
  return {
    example: blocks[exampleIndex]!.body,
    expectedOutput: output.body,
    snippets: blocks.filter((b, i) => b.lang === 'ts' && i !== exampleIndex).map((b) => b.body),
  };
}

/** Output compared line by line, ignoring trailing spaces (tables pad their columns). */
export function normalizeOutput(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}
