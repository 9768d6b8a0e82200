import { readFileSync } from 'node:fs';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { packageFile } from './schema';

/*
 * Checks each REST exchange of the sandbox against GitHub's own OpenAPI description
 * (@octokit/openapi), the request body and the response body, error bodies included. Schemas are
 * looked up by the route's path template and method, never copied. The 13 MB document is read
 * once per process and each validator is compiled on first use, so a test pays only for the
 * routes it touches.
 */

interface Operation {
  responses: Record<string, unknown>;
  requestBody?: { content: Record<string, { schema?: unknown }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

const DOCUMENT_ID = 'https://api.github.com/openapi.json';
/**
 * Some routes exist only on GitHub Enterprise Cloud (custom repository roles): those are checked
 * against GitHub's GHEC description, loaded only when such a route is first used.
 */
const GHEC_DOCUMENT_ID = 'https://api.github.com/ghec.json';

/** One way an exchange broke GitHub's description. */
export class OpenApiViolation extends Error {
  constructor(
    readonly exchange: string,
    readonly problems: string[],
  ) {
    super(`${exchange} does not match GitHub's OpenAPI description: ${problems.join('; ')}`);
    this.name = 'OpenApiViolation';
  }
}

/**
 * OpenAPI 3.0 writes "or null" as `nullable: true`, which Ajv accepts only beside `type`. Where
 * GitHub's description puts it beside anyOf/oneOf/allOf (the installation's `account`, for one),
 * it becomes an explicit null branch; alone it adds nothing (any value passes already).
 */
function nullableWithoutType(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) nullableWithoutType(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  for (const value of Object.values(schema)) nullableWithoutType(value);
  if (schema.nullable !== true || 'type' in schema) return;
  delete schema.nullable;
  const { description: _description, ...rest } = schema;
  if (Object.keys(rest).length === 0) return;
  for (const key of Object.keys(rest)) delete schema[key];
  schema.anyOf = [rest, { type: 'null' }];
}

let document: OpenApiDocument | undefined;
let ghecDocument: OpenApiDocument | undefined;
let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction | null>();

function load(): { document: OpenApiDocument; ajv: Ajv } {
  if (!document || !ajv) {
    document = JSON.parse(
      readFileSync(packageFile('@octokit/openapi', 'generated/api.github.com.json'), 'utf8'),
    ) as OpenApiDocument;
    nullableWithoutType(document);
    ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
    // ajv-formats is CJS; depending on the loader its function is the module or its `default`.
    const formats = (addFormats as unknown as { default?: typeof addFormats }).default ?? addFormats;
    formats(ajv);
    ajv.addSchema({ $id: DOCUMENT_ID, paths: document.paths, components: document.components });
  }
  return { document, ajv };
}

function loadGhec(): OpenApiDocument {
  const { ajv: validator } = load();
  if (!ghecDocument) {
    ghecDocument = JSON.parse(
      readFileSync(packageFile('@octokit/openapi', 'generated/ghec.json'), 'utf8'),
    ) as OpenApiDocument;
    nullableWithoutType(ghecDocument);
    validator.addSchema({
      $id: GHEC_DOCUMENT_ID,
      paths: ghecDocument.paths,
      components: ghecDocument.components,
    });
  }
  return ghecDocument;
}

const pointerSegment = (segment: string) =>
  encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));

function describeErrors(validate: ValidateFunction): string[] {
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || '(body)'} ${error.message}`);
}

interface Located {
  operation: Operation;
  /** The `$id` the operation's document is registered under. */
  documentId: string;
  document: OpenApiDocument;
}

/** The operation (from api.github.com's description, else GHEC's), or a problem saying GitHub has no such route. */
function operationOf(method: string, template: string): Located | string {
  const verb = method.toLowerCase();
  const { document: main } = load();
  const operation = main.paths[template]?.[verb];
  if (operation) return { operation, documentId: DOCUMENT_ID, document: main };
  const ghec = loadGhec();
  const enterprise = ghec.paths[template]?.[verb];
  if (enterprise) return { operation: enterprise, documentId: GHEC_DOCUMENT_ID, document: ghec };
  return `GitHub documents no ${method} ${template}`;
}

function responseValidator(
  method: string,
  template: string,
  status: number,
): ValidateFunction | string | null {
  const cacheKey = `response ${method} ${template} ${status}`;
  if (validators.has(cacheKey)) return validators.get(cacheKey) ?? null;
  const located = operationOf(method, template);
  if (typeof located === 'string') return located;
  const { operation, documentId, document: source } = located;
  let response = operation.responses[String(status)] as
    | { $ref?: string; content?: Record<string, unknown> }
    | undefined;
  if (!response) {
    if (status < 400) return `GitHub documents no ${status} answer for ${method} ${template}`;
    // GitHub's description leaves out many error answers it does send (a 404 for an unknown team
    // member, say); those still carry GitHub's basic error body, which is what is checked.
    const validate = load().ajv.compile({ $ref: `${documentId}#/components/schemas/basic-error` });
    validators.set(cacheKey, validate);
    return validate;
  }
  let location = `#/paths/${pointerSegment(template)}/${method.toLowerCase()}/responses/${status}`;
  if (response.$ref) {
    location = response.$ref;
    const name = response.$ref.split('/').at(-1) ?? '';
    response = (source.components.responses as Record<string, typeof response>)[name];
  }
  const mediaType = Object.keys(response?.content ?? {})[0];
  // A documented answer without a body (204, or a 404 described only in words): nothing to check.
  const validate = mediaType
    ? load().ajv.compile({
        $ref: `${documentId}${location}/content/${pointerSegment(mediaType)}/schema`,
      })
    : null;
  validators.set(cacheKey, validate);
  return validate;
}

function requestValidator(method: string, template: string): ValidateFunction | null {
  const cacheKey = `request ${method} ${template}`;
  if (validators.has(cacheKey)) return validators.get(cacheKey) ?? null;
  const located = operationOf(method, template);
  const content = typeof located === 'string' ? undefined : located.operation.requestBody?.content;
  const validate =
    typeof located !== 'string' && content?.['application/json']
      ? load().ajv.compile({
          $ref: `${located.documentId}#/paths/${pointerSegment(template)}/${method.toLowerCase()}/requestBody/content/${pointerSegment('application/json')}/schema`,
        })
      : null;
  validators.set(cacheKey, validate);
  return validate;
}

/**
 * Problems with one exchange, empty when it matches. A request body is checked where GitHub
 * documents one and the sandbox accepted it (a body the sandbox refuses is the test of that
 * refusal; what is checked then is that the refusal's body is what GitHub sends for that status).
 * A success status GitHub does not document is a problem; an undocumented error is checked
 * against GitHub's basic-error.
 */
export function openApiProblems(exchange: {
  method: string;
  template: string;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
}): string[] {
  const { method, template, status } = exchange;
  const problems: string[] = [];
  if (exchange.requestBody !== undefined && status < 400) {
    const validate = requestValidator(method, template);
    if (validate && !validate(exchange.requestBody)) {
      problems.push(...describeErrors(validate).map((problem) => `request ${problem}`));
    }
  }
  const validate = responseValidator(method, template, status);
  if (typeof validate === 'string') problems.push(validate);
  else if (validate && exchange.responseBody !== undefined && !validate(exchange.responseBody)) {
    problems.push(...describeErrors(validate).map((problem) => `response ${problem}`));
  }
  return problems;
}

/** Whether this process checks every sandbox exchange (the test setup turns it on). */
export function openApiCheckingEnabled(): boolean {
  return process.env.GITHUB_SANDBOX_OPENAPI === 'check';
}
