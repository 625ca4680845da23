/**
 * Every schema of ours compiles with zod (`useZodCompilers`). Fastify would still load its
 * default compilers, ajv and fast-json-stringify (~370 KB of modules with fast-uri and
 * ajv-formats), unless its options name compiler factories: these factories are never called
 * while the zod compilers are set, and say so loudly if they ever are (docs/profiling.md, fix 21).
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';

const unused = (): never => {
  throw new Error('Fastify asked for its default schema compiler: every TinyAGI route compiles with zod (useZodCompilers).');
};

export const ZOD_SCHEMA_CONTROLLER: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: { buildValidator: unused, buildSerializer: unused },
};

export function useZodCompilers(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
}
