/**
 * A reply to a person ends with the agent's name (`— @coder`): on a chat platform one bot speaks
 * for every agent. The daemon signs (teams), a surface that names the agent itself (TinyOffice's
 * chat bubbles) takes the line off: one format for both.
 */
const signature = (agentId: string): string => `\n\n— @${agentId}`;

export function signReply(text: string, agentId: string): string {
  return `${text}${signature(agentId)}`;
}

/** `text` without the signature of `agentId`, when it ends with it. */
export function unsignReply(text: string, agentId: string | null | undefined): string {
  if (!agentId) return text;
  const line = signature(agentId);
  return text.endsWith(line) ? text.slice(0, -line.length) : text;
}
