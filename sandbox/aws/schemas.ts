import * as iamClient from '@aws-sdk/client-iam';
import * as kmsClient from '@aws-sdk/client-kms';
import * as secretsManagerClient from '@aws-sdk/client-secrets-manager';
import * as stsClient from '@aws-sdk/client-sts';

/*
 * The services' Smithy models as the installed AWS SDK v3 clients carry them: each client exports
 * `<Operation>$` (an operation schema) and `<Shape>$` (structures and errors) as compact tuples.
 * The sandbox reads them, never copies them, for three jobs: parsing Query requests (which are
 * flat form fields that only the model can turn back into lists and structures), writing XML and
 * JSON answers, and, when AWS_SANDBOX_SCHEMA=check, refusing any exchange the model would not allow.
 *
 * Tuple layouts (from @smithy/core/schema): a number is a simple type (0 string, 1 number,
 * 2 boolean, 4–7 timestamp, 15 document, 21/42 blob, 64|x list of x, 128|x map of x); arrays are
 * [0 ns name traits target] a trait-carrying alias, [1 ns name traits member] a list, [2 ns name
 * traits key value] a map, [3|-3|4 ns name traits memberNames memberSchemas requiredCount?] a
 * structure, error or union whose first `requiredCount` members are required, [9 ns name traits
 * input output] an operation; a two-element array is a member reference [target traits]; a function
 * is a lazy reference.
 */

export type AwsService = 'iam' | 'sts' | 'secretsmanager' | 'kms';

export type Shape =
  | { kind: 'string' | 'number' | 'boolean' | 'timestamp' | 'blob' | 'document' | 'unit' }
  | { kind: 'list'; member: unknown }
  | { kind: 'map'; value: unknown }
  | {
      kind: 'structure';
      name: string;
      memberNames: readonly string[];
      memberRefs: readonly unknown[];
      required: ReadonlySet<string>;
      union: boolean;
    };

export type StructureShape = Extract<Shape, { kind: 'structure' }>;

// The clients' module namespaces are read by export name (`GetRole$`), so they are looked at as plain records.
const MODULES: Record<AwsService, Record<string, unknown>> = {
  iam: iamClient as unknown as Record<string, unknown>,
  sts: stsClient as unknown as Record<string, unknown>,
  secretsmanager: secretsManagerClient as unknown as Record<string, unknown>,
  kms: kmsClient as unknown as Record<string, unknown>,
};

/** The model itself is unreadable: the installed SDK changed its schema format. */
export class SchemaFormatError extends Error {
  constructor(message: string) {
    super(`cannot read the AWS SDK's schema: ${message}`);
    this.name = 'SchemaFormatError';
  }
}

function deref(ref: unknown): unknown {
  return typeof ref === 'function' ? (ref as () => unknown)() : ref;
}

function simpleShape(code: number): Shape {
  if (code >= 64 && code < 128) return { kind: 'list', member: code & 0b0011_1111 };
  if (code >= 128 && code <= 255) return { kind: 'map', value: code & 0b0011_1111 };
  if (code === 0) return { kind: 'string' };
  if (code === 1 || code === 17 || code === 19) return { kind: 'number' };
  if (code === 2) return { kind: 'boolean' };
  if (code >= 4 && code <= 7) return { kind: 'timestamp' };
  if (code === 15) return { kind: 'document' };
  if (code === 21 || code === 42) return { kind: 'blob' };
  throw new SchemaFormatError(`unknown simple schema ${code}`);
}

const shapes = new WeakMap<object, Shape>();

/** The shape a schema reference (member, alias, lazy function or simple code) stands for. */
export function shapeOf(ref: unknown): Shape {
  let target = deref(ref);
  while (Array.isArray(target) && target.length === 2) target = deref(target[0]);
  if (typeof target === 'number') return simpleShape(target);
  if (target === 'unit') return { kind: 'unit' };
  if (!Array.isArray(target)) throw new SchemaFormatError(`unexpected schema ${String(target)}`);
  const cached = shapes.get(target);
  if (cached) return cached;
  let shape: Shape;
  switch (target[0]) {
    case 0:
      shape = shapeOf(target[4]);
      break;
    case 1:
      shape = { kind: 'list', member: target[4] };
      break;
    case 2:
      shape = { kind: 'map', value: target[5] };
      break;
    case 3:
    case -3:
    case 4: {
      const memberNames = target[4] as string[];
      const requiredCount = typeof target[6] === 'number' ? target[6] : 0;
      shape = {
        kind: 'structure',
        name: String(target[2]),
        memberNames,
        memberRefs: target[5] as unknown[],
        required: new Set(memberNames.slice(0, requiredCount)),
        union: target[0] === 4,
      };
      break;
    }
    default:
      throw new SchemaFormatError(`unexpected schema kind ${String(target[0])}`);
  }
  shapes.set(target, shape);
  return shape;
}

export interface OperationModel {
  service: AwsService;
  name: string;
  input: unknown;
  output: unknown;
}

/** The operation's model, or undefined when the service has no such operation. */
export function operationModel(service: AwsService, action: string): OperationModel | undefined {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(action)) return undefined;
  const schema = MODULES[service][`${action}$`];
  if (!Array.isArray(schema) || schema[0] !== 9) return undefined;
  return { service, name: action, input: schema[4], output: schema[5] };
}

export interface ErrorModel {
  /** The shape name, which JSON services send as `__type`. */
  name: string;
  /** The code Query services send, and its HTTP status, when the model says (`awsQueryError`). */
  queryCode?: string;
  queryStatus?: number;
  shape: StructureShape;
  /** The schema itself, for schemaProblems. */
  ref: unknown;
}

const errorModels = new Map<AwsService, ErrorModel[]>();

/** Every error the service models (NoSuchEntityException, ResourceNotFoundException, …). */
export function serviceErrors(service: AwsService): readonly ErrorModel[] {
  let models = errorModels.get(service);
  if (models) return models;
  models = [];
  for (const value of Object.values(MODULES[service])) {
    if (!Array.isArray(value) || value[0] !== -3) continue;
    // Each client's base exception (IAMServiceException, …) is the SDK's own, not an AWS answer.
    if (String(value[1]).startsWith('smithy.ts.sdk.synthetic.')) continue;
    const shape = shapeOf(value);
    if (shape.kind !== 'structure') continue;
    const traits = (typeof value[3] === 'object' && value[3] !== null ? value[3] : {}) as Record<
      string,
      unknown
    >;
    const query = traits.awsQueryError;
    const [queryCode, queryStatus] = Array.isArray(query) ? query : [];
    models.push({
      name: shape.name,
      shape,
      ref: value,
      ...(typeof queryCode === 'string' ? { queryCode } : {}),
      ...(typeof queryStatus === 'number' ? { queryStatus } : {}),
    });
  }
  errorModels.set(service, models);
  return models;
}

/** How values arrive: parsed JS (Dates for timestamps) or JSON off the wire (epoch seconds). */
export type ValueForm = 'js' | 'json';

const MAX_PROBLEMS = 12;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a Date';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function checkInto(ref: unknown, value: unknown, path: string, form: ValueForm, problems: string[]): void {
  if (problems.length >= MAX_PROBLEMS) return;
  const shape = shapeOf(ref);
  const where = path || '(top level)';
  switch (shape.kind) {
    case 'unit':
      if (value !== undefined && !(isPlainObject(value) && Object.keys(value).length === 0)) {
        problems.push(`${where}: the operation has no ${path ? 'such member' : 'body'}`);
      }
      return;
    case 'document':
      return;
    case 'string':
      if (typeof value !== 'string') problems.push(`${where}: expected a string, got ${describe(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        problems.push(`${where}: expected a number, got ${describe(value)}`);
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${where}: expected a boolean, got ${describe(value)}`);
      return;
    case 'blob':
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
        problems.push(`${where}: expected binary data, got ${describe(value)}`);
      }
      return;
    case 'timestamp':
      if (form === 'json' ? typeof value !== 'number' : !(value instanceof Date && !Number.isNaN(+value))) {
        problems.push(
          `${where}: expected a timestamp (${form === 'json' ? 'epoch seconds' : 'a Date'}), got ${describe(value)}`,
        );
      }
      return;
    case 'list':
      if (!Array.isArray(value)) {
        problems.push(`${where}: expected a list, got ${describe(value)}`);
        return;
      }
      value.forEach((item, index) => {
        if (item === null || item === undefined) problems.push(`${path}[${index}]: a list holds no nulls`);
        else checkInto(shape.member, item, `${path}[${index}]`, form, problems);
      });
      return;
    case 'map':
      if (!isPlainObject(value)) {
        problems.push(`${where}: expected a map, got ${describe(value)}`);
        return;
      }
      for (const [key, item] of Object.entries(value))
        checkInto(shape.value, item, `${path}.${key}`, form, problems);
      return;
    case 'structure': {
      if (!isPlainObject(value)) {
        problems.push(`${where}: expected a ${shape.name} structure, got ${describe(value)}`);
        return;
      }
      const prefix = path ? `${path}.` : '';
      let present = 0;
      for (const [name, item] of Object.entries(value)) {
        const index = shape.memberNames.indexOf(name);
        if (index < 0) {
          problems.push(`${prefix}${name}: ${shape.name} has no member ${name}`);
          continue;
        }
        if (item === undefined || item === null) continue;
        present++;
        checkInto(shape.memberRefs[index], item, `${prefix}${name}`, form, problems);
      }
      for (const name of shape.required) {
        if (value[name] === undefined || value[name] === null) {
          problems.push(`${prefix}${name}: required by ${shape.name} but missing`);
        }
      }
      if (shape.union && present !== 1)
        problems.push(`${where}: a ${shape.name} union sets exactly one member`);
      return;
    }
  }
}

/**
 * Problems with a value against a schema: members the shape does not have, wrong types (string,
 * number, boolean, timestamp, list, map, structure) and missing required members. Empty when it fits.
 */
export function schemaProblems(ref: unknown, value: unknown, form: ValueForm = 'js'): string[] {
  const problems: string[] = [];
  checkInto(ref, value, '', form, problems);
  return problems;
}

/** Whether this process checks every sandbox exchange (the test setup turns it on). */
export function schemaCheckingEnabled(): boolean {
  return process.env.AWS_SANDBOX_SCHEMA === 'check';
}
