/**
 * GitHub's published OpenAPI description (`@octokit/openapi`, api.github.com) as a validator of
 * the stand-in's exchanges: each accepted request's body against the operation's request body
 * schema, its query against the operation's parameters, and each answer against the schema the
 * description gives for that operation and status. Loaded once per process (13 MB of JSON,
 * about a quarter of a second); only the schemas an operation reaches are compiled.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { GitHubExchange } from './github-standin.ts';

type Json = Record<string, unknown>;
interface Operation {
  method: string;
  template: string;
  parameters: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
}

const ROOT_ID = 'https://api.github.com/openapi';
let loaded: { spec: Json; ajv: Ajv; ops: Map<string, Operation> } | undefined;

function load(): NonNullable<typeof loaded> {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = nullableEnums(JSON.parse(readFileSync(file, 'utf8'))) as Json;
  // OpenAPI 3.0's schema dialect: `nullable`, and annotations ajv does not know (`example`, `x-github`…).
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  for (const format of ['int64', 'int32', 'uri-template', 'repo.nwo']) ajv.addFormat(format, true);
  ajv.addSchema({ $id: ROOT_ID, components: spec.components });
  const ops = new Map<string, Operation>();
  for (const [template, methods] of Object.entries(spec.paths as Record<string, Record<string, Json>>))
    for (const [method, op] of Object.entries(methods)) {
      if (typeof op.operationId !== 'string') continue;
      ops.set(op.operationId, {
        method: method.toUpperCase(),
        template,
        parameters: (op.parameters as Json[] | undefined) ?? [],
        ...(op.requestBody === undefined ? {} : { requestBody: op.requestBody as Json }),
        responses: op.responses as Record<string, Json>,
      });
    }
  loaded = { spec, ajv, ops };
  return loaded;
}

/**
 * OpenAPI 3.0 reads `nullable: true` beside an `enum` as "or null" (GitHub answers a running
 * check's `conclusion` with null); ajv reads the enum strictly, so null is added to such enums.
 */
function nullableEnums(node: unknown): unknown {
  if (Array.isArray(node)) node.forEach(nullableEnums);
  else if (node !== null && typeof node === 'object') {
    const o = node as Json;
    if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...o.enum, null];
    for (const v of Object.values(o)) nullableEnums(v);
  }
  return node;
}

/** Follows a `#/components/...` reference within the description. */
function deref<T = Json>(node: Json): T {
  const ref = node.$ref;
  if (typeof ref !== 'string') return node as T;
  let at: unknown = load().spec;
  for (const part of ref.replace(/^#\//, '').split('/')) at = (at as Json)[part];
  return deref(at as Json);
}

const compiled = new Map<string, ValidateFunction>();
function compile(key: string, schema: Json): ValidateFunction {
  let fn = compiled.get(key);
  if (fn === undefined) {
    // The operation's schema lives outside the components document: point its references there.
    const rooted = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${ROOT_ID}#/components/`)) as Json;
    fn = load().ajv.compile(rooted);
    compiled.set(key, fn);
  }
  return fn;
}

/** The operation as the description has it (method and path template), or undefined. */
export function githubOperation(operationId: string): { method: string; template: string } | undefined {
  const op = load().ops.get(operationId);
  return op === undefined ? undefined : { method: op.method, template: op.template };
}

/**
 * What in one exchange does not match the description (empty when all does): the request's
 * method and path against the operation's, its query parameters and JSON body against their
 * schemas, and the answer against the operation's schema for its status.
 */
export function githubExchangeProblems(exchange: GitHubExchange): string[] {
  const where = `${exchange.method} ${exchange.path} (${exchange.operationId ?? 'no operation'}) ${exchange.status}`;
  if (exchange.operationId === null) return exchange.status === 404 || exchange.status === 401 ? [] : [`${where}: answered without an operation`];
  const op = load().ops.get(exchange.operationId);
  if (op === undefined) return [`${where}: the description has no such operation`];
  const problems: string[] = [];
  const pattern = new RegExp(`^${op.template.replace(/\{[^}]+\}/g, '[^/]+').replace('[^/]+/check-runs', '.+/check-runs')}$`);
  if (op.method !== exchange.method || !pattern.test(exchange.path)) problems.push(`${where}: the operation is ${op.method} ${op.template}`);
  for (const raw of op.parameters) {
    const param = deref(raw);
    if (param.in !== 'query') continue;
    const value = exchange.query[String(param.name)];
    if (value === undefined) continue;
    const schema = param.schema as Json;
    const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : schema.type === 'boolean' ? value === 'true' : value;
    const fn = compile(`${exchange.operationId} query ${String(param.name)}`, schema);
    if (!fn(typed)) problems.push(`${where}: query ${String(param.name)}=${value}: ${load().ajv.errorsText(fn.errors)}`);
  }
  if (exchange.status < 400 && exchange.body !== undefined) {
    const schema = (deref(op.requestBody ?? {}).content as Record<string, Json> | undefined)?.['application/json']?.schema as Json | undefined;
    if (schema === undefined) problems.push(`${where}: a body the operation does not take`);
    else {
      const fn = compile(`${exchange.operationId} request`, schema);
      if (!fn(exchange.body)) problems.push(`${where}: request body: ${load().ajv.errorsText(fn.errors)}`);
    }
  }
  const documented = op.responses[String(exchange.status)];
  if (documented === undefined) {
    // Every operation may answer 401, 404, 422 and 503 (GitHub's basic-error), documented or not.
    if (exchange.status === 401 || exchange.status === 404 || exchange.status === 422 || exchange.status === 503) {
      const fn = compile('basic-error', { $ref: '#/components/schemas/basic-error' });
      if (!fn(exchange.response)) problems.push(`${where}: ${load().ajv.errorsText(fn.errors)}`);
    } else problems.push(`${where}: the description lists no ${exchange.status} for ${exchange.operationId}`);
    return problems;
  }
  const schema = (deref(documented).content as Record<string, Json> | undefined)?.['application/json']?.schema as Json | undefined;
  if (schema !== undefined) {
    const fn = compile(`${exchange.operationId} ${exchange.status}`, schema);
    if (!fn(exchange.response)) problems.push(`${where}: answer: ${load().ajv.errorsText(fn.errors)}`);
  }
  return problems;
}
