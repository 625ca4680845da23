/**
 * The facets a server's routes call (steering, approvals, chat rooms, conversation control and
 * views) are the ones its embedder passes: under `orchestratorFacets`, and under the option's old,
 * deprecated name `orchestratorServices`, which library users may still write.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Orchestrator, orchestratorFacets } from '@tinyagi/teams';
import { startHarness, type ServerHarness } from './harness.ts';

const harnesses: ServerHarness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.close();
});

/** The facets of `orchestrator`, with each conversation tree the routes read recorded in `trees`. */
function recordingFacets(orchestrator: Orchestrator, trees: string[]): ReturnType<typeof orchestratorFacets> {
  const facets = orchestratorFacets(orchestrator);
  const tree = facets.views.tree.bind(facets.views);
  facets.views.tree = async (id) => {
    trees.push(id);
    return await tree(id);
  };
  return facets;
}

describe('BuildServerOptions.orchestratorFacets', () => {
  for (const option of ['orchestratorFacets', 'orchestratorServices'] as const) {
    it(`the routes call the facets given as ${option}`, async () => {
      const trees: string[] = [];
      const h = await startHarness({ facets: { option, build: (orchestrator) => recordingFacets(orchestrator, trees) } });
      harnesses.push(h);
      const sent = await h.client.sendMessage({ body: { message: 'hello', agent: 'reviewer', sender: 'Ada', senderId: 'ada' } });
      const tree = await h.client.getConversation({ params: { id: sent.conversationId } });
      expect(tree.conversation.id).toBe(sent.conversationId);
      expect(trees).toEqual([sent.conversationId]);
    });
  }
});
