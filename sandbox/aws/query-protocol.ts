import { type AwsService, serviceErrors, shapeOf } from './schemas';

/*
 * The AWS Query protocol (IAM, STS): requests are form fields (`Action=GetRole&Version=2010-05-08
 * &RoleName=x`, lists as `Filter.member.1`, maps as `Tags.entry.1.key`), answers are XML wrapped in
 * `<GetRoleResponse><GetRoleResult>…</GetRoleResult><ResponseMetadata>…`, errors are
 * `<ErrorResponse><Error><Type>Sender</Type><Code>…`. Reading and writing follow the operation's
 * Smithy model, the only source of which fields are lists, numbers or timestamps.
 */

export type QueryService = Extract<AwsService, 'iam' | 'sts'>;

export const QUERY_SERVICES: Record<QueryService, { version: string; namespace: string }> = {
  iam: { version: '2010-05-08', namespace: 'https://iam.amazonaws.com/doc/2010-05-08/' },
  sts: { version: '2011-06-15', namespace: 'https://sts.amazonaws.com/doc/2011-06-15/' },
};

export function isQueryService(service: string): service is QueryService {
  return service === 'iam' || service === 'sts';
}

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Positive indexes that follow `prefix` in some field name (`Filter.member.` → 1, 2, …), in order. */
function indexesUnder(params: URLSearchParams, prefix: string): number[] {
  const found = new Set<number>();
  for (const key of params.keys()) {
    if (!key.startsWith(prefix)) continue;
    const index = /^(\d+)(?:\.|$)/.exec(key.slice(prefix.length))?.[1];
    if (index !== undefined && Number(index) > 0) found.add(Number(index));
  }
  return [...found].sort((a, b) => a - b);
}

function hasFieldUnder(params: URLSearchParams, prefix: string): boolean {
  for (const key of params.keys()) if (key.startsWith(prefix)) return true;
  return false;
}

interface Reading {
  params: URLSearchParams;
  consumed: Set<string>;
  problems: string[];
}

function scalar(kind: string, key: string, text: string, reading: Reading): unknown {
  switch (kind) {
    case 'number': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value))
        reading.problems.push(`${key}: "${text}" is not a number`);
      return value;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false')
        reading.problems.push(`${key}: "${text}" is not true or false`);
      return text === 'true';
    case 'timestamp': {
      const value = new Date(text);
      if (Number.isNaN(+value)) reading.problems.push(`${key}: "${text}" is not a timestamp`);
      return value;
    }
    default:
      return text;
  }
}

function read(ref: unknown, key: string, reading: Reading): unknown {
  const shape = shapeOf(ref);
  const { params } = reading;
  switch (shape.kind) {
    case 'structure': {
      const prefix = key ? `${key}.` : '';
      if (key && !hasFieldUnder(params, prefix)) return undefined;
      const value: Record<string, unknown> = {};
      shape.memberNames.forEach((name, index) => {
        const member = read(shape.memberRefs[index], `${prefix}${name}`, reading);
        if (member !== undefined) value[name] = member;
      });
      return value;
    }
    case 'list': {
      if (params.get(key) === '') {
        // The SDK writes an empty list as the bare field name.
        reading.consumed.add(key);
        return [];
      }
      const indexes = indexesUnder(params, `${key}.member.`);
      if (indexes.length === 0) return undefined;
      return indexes.map((index) => read(shape.member, `${key}.member.${index}`, reading));
    }
    case 'map': {
      const indexes = indexesUnder(params, `${key}.entry.`);
      if (indexes.length === 0) return undefined;
      const value: Record<string, unknown> = {};
      for (const index of indexes) {
        const entryKey = read(0, `${key}.entry.${index}.key`, reading);
        const entryValue = read(shape.value, `${key}.entry.${index}.value`, reading);
        if (typeof entryKey !== 'string' || RESERVED_KEYS.has(entryKey)) {
          reading.problems.push(`${key}.entry.${index}.key: not an acceptable map key`);
          continue;
        }
        value[entryKey] = entryValue;
      }
      return value;
    }
    case 'unit':
      return undefined;
    default: {
      const text = params.get(key);
      if (text === null) return undefined;
      reading.consumed.add(key);
      return scalar(shape.kind, key, text, reading);
    }
  }
}

/**
 * The operation's input from a Query request's fields, with every field the model does not know
 * and every value of the wrong type named as a problem.
 */
export function readQueryInput(
  inputRef: unknown,
  params: URLSearchParams,
): { input: Record<string, unknown>; problems: string[] } {
  const reading: Reading = { params, consumed: new Set(['Action', 'Version']), problems: [] };
  const input = (read(inputRef, '', reading) as Record<string, unknown> | undefined) ?? {};
  for (const key of params.keys()) {
    if (!reading.consumed.has(key)) reading.problems.push(`${key}: the operation has no such parameter`);
  }
  return { input, problems: [...new Set(reading.problems)] };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Timestamps as AWS's Query services write them: ISO 8601, whole seconds. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function write(ref: unknown, value: unknown): string {
  const shape = shapeOf(ref);
  switch (shape.kind) {
    case 'structure': {
      const record = value as Record<string, unknown>;
      let out = '';
      shape.memberNames.forEach((name, index) => {
        const member = record[name];
        if (member === undefined || member === null) return;
        out += `<${name}>${write(shape.memberRefs[index], member)}</${name}>`;
      });
      return out;
    }
    case 'list':
      return (value as unknown[]).map((item) => `<member>${write(shape.member, item)}</member>`).join('');
    case 'map':
      return Object.entries(value as Record<string, unknown>)
        .map(
          ([key, item]) =>
            `<entry><key>${escapeXml(key)}</key><value>${write(shape.value, item)}</value></entry>`,
        )
        .join('');
    case 'timestamp':
      return isoSeconds(value as Date);
    case 'blob':
      return typeof value === 'string' ? value : Buffer.from(value as Uint8Array).toString('base64');
    case 'document':
      return escapeXml(JSON.stringify(value));
    case 'unit':
      return '';
    default:
      return escapeXml(String(value));
  }
}

/** A successful answer: the output written by the model, inside AWS's envelope. */
export function queryResponseXml(
  service: QueryService,
  action: string,
  outputRef: unknown,
  output: Record<string, unknown> | undefined,
  requestId: string,
): string {
  const result =
    shapeOf(outputRef).kind === 'unit'
      ? ''
      : `<${action}Result>${write(outputRef, output ?? {})}</${action}Result>`;
  return (
    `<${action}Response xmlns="${QUERY_SERVICES[service].namespace}">${result}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** An error answer; `Sender` for the caller's faults (4xx), `Receiver` for AWS's own. */
export function queryErrorXml(
  service: QueryService,
  error: { code: string; message: string; status: number },
  requestId: string,
): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return (
    `<ErrorResponse xmlns="${QUERY_SERVICES[service].namespace}"><Error><Type>${type}</Type>` +
    `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/**
 * Errors every Query service can answer besides the ones its model lists (AWS's "common errors"),
 * with their statuses.
 */
const COMMON_QUERY_ERRORS: Readonly<Record<string, number>> = {
  AccessDenied: 403,
  ExpiredToken: 403,
  IncompleteSignature: 400,
  InternalFailure: 500,
  InvalidAction: 400,
  InvalidClientTokenId: 403,
  InvalidParameterValue: 400,
  MalformedQueryString: 404,
  MissingAction: 400,
  MissingAuthenticationToken: 403,
  MissingParameter: 400,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  Throttling: 400,
  ValidationError: 400,
};

/** Problems with an error answer: a code the service does not have, or a status AWS does not pair with it. */
export function queryErrorProblems(service: QueryService, code: string, status: number): string[] {
  const modeled = serviceErrors(service).find((error) => (error.queryCode ?? error.name) === code);
  const expected = modeled ? modeled.queryStatus : COMMON_QUERY_ERRORS[code];
  if (modeled === undefined && expected === undefined) {
    return [
      `error code ${code}: ${service} has no such error (neither in its model nor among AWS's common errors)`,
    ];
  }
  if (expected !== undefined && expected !== status)
    return [`error code ${code}: AWS answers it with ${expected}, not ${status}`];
  return [];
}
