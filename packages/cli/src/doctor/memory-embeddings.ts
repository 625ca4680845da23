/** `tinyagi doctor`: when `memory.embeddings` is set, whether the endpoint embeds (one request of one short input). */
import { clause, type Settings } from '@tinyagi/core';
import { embed, embeddingsConfig } from '../core-internal.ts';
import type { Finding } from './finding.ts';

export async function checkEmbeddings(settings: Settings | undefined, env: Readonly<Record<string, string | undefined>>): Promise<Finding[]> {
  const config = settings ? embeddingsConfig(settings, env) : undefined;
  if (config === undefined) return [];
  const where = `${config.baseUrl}/embeddings (model ${config.model})`;
  try {
    const [vector] = await embed(config, ['tinyagi doctor']);
    return [{ check: 'memory-embeddings', status: 'ok', message: `Memory embeddings: ${where} answers (${vector!.length} dimensions).` }];
  } catch (err) {
    return [
      {
        check: 'memory-embeddings',
        status: 'warn',
        message: `Memory embeddings: ${clause(err instanceof Error ? err.message : String(err))}.`,
        hint: config.missingKeyEnv
          ? `Set ${config.missingKeyEnv} in the daemon's environment (memory.embeddings.api_key_env names it). Meanwhile recall uses full-text search alone.`
          : 'Check memory.embeddings (base_url, model) and the endpoint. Meanwhile recall uses full-text search alone.',
      },
    ];
  }
}
