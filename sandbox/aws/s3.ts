import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import * as s3Client from '@aws-sdk/client-s3';
import { decide } from './authorize';
import { type PolicyDocument, parsePolicyText, type StoredPolicy } from './documents';
import { AwsServiceError } from './errors';
import { type Shape, schemaProblems, shapeOf } from './schemas';
import type { AwsState, Caller } from './state';

/*
 * S3 for the evidence archive: path-style REST (`/<bucket>/<key>`), objects kept in memory with
 * versions, and Object Lock as S3 enforces it in compliance mode: a locked version cannot be
 * deleted, its retention cannot be shortened or its mode changed, and `If-None-Match: *` refuses a
 * put over an existing object (412). Only the operations the archive uses are simulated (PutObject,
 * HeadObject, GetObject, DeleteObject, PutObjectRetention); anything else is 501 NotImplemented.
 *
 * When schemas are checked, every request header and query parameter must be bound to a member of
 * the operation's input in @aws-sdk/client-s3's Smithy model (httpHeader, httpPrefixHeaders,
 * httpQuery traits), with a value of the member's type; every answer is built from the output
 * model's bindings and checked against it, so the sandbox cannot send a header S3 does not have.
 */

export interface S3ObjectVersion {
  versionId: string;
  deleteMarker: boolean;
  body: Buffer;
  contentType?: string;
  /** Base64 SHA-256, when the put carried one (S3 keeps the checksum it verified). */
  checksumSha256?: string;
  etag: string;
  lastModified: Date;
  lockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  retainUntil?: Date;
}

export interface S3Bucket {
  name: string;
  accountId: string;
  region: string;
  /** Object Lock enabled (which implies versioning, as on S3). */
  objectLock: boolean;
  policy?: StoredPolicy;
  /** Versions per key, oldest first. */
  objects: Map<string, S3ObjectVersion[]>;
}

const bucketsByState = new WeakMap<AwsState, Map<string, S3Bucket>>();

function bucketsOf(state: AwsState): Map<string, S3Bucket> {
  let buckets = bucketsByState.get(state);
  if (!buckets) {
    buckets = new Map();
    bucketsByState.set(state, buckets);
  }
  return buckets;
}

/** Creates a bucket, as the stack does on AWS (CreateBucket is not simulated). */
export function addBucket(
  state: AwsState,
  options: { name: string; accountId: string; region: string; objectLock: boolean; policy?: PolicyDocument },
): S3Bucket {
  const bucket: S3Bucket = {
    name: options.name,
    accountId: options.accountId,
    region: options.region,
    objectLock: options.objectLock,
    ...(options.policy ? { policy: parsePolicyText(JSON.stringify(options.policy), 'resource') } : {}),
    objects: new Map(),
  };
  bucketsOf(state).set(options.name, bucket);
  return bucket;
}

export function bucket(state: AwsState, name: string): S3Bucket | undefined {
  return bucketsOf(state).get(name);
}

export interface S3Request {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface S3Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  action: string;
  code?: string;
  /** What the model found wrong with the exchange (only when schemas are checked). */
  problems: string[];
}

interface S3Context {
  state: AwsState;
  caller: Caller;
  region: string;
  checkSchemas: boolean;
  now?: Date;
}

// ---------------------------------------------------------------------------------------------
// The model's bindings
// ---------------------------------------------------------------------------------------------

interface Binding {
  member: string;
  shape: Shape;
  /** The member's timestamp format code (4 default, 5 date-time, 6 http-date, 7 epoch-seconds). */
  code: number | undefined;
  header?: string;
  prefixHeader?: string;
  query?: string;
  label: boolean;
  payload: boolean;
}

function bindingsOf(structureRef: unknown): Binding[] {
  const shape = shapeOf(structureRef);
  if (shape.kind !== 'structure') return [];
  return shape.memberNames.map((member, index) => {
    const ref = shape.memberRefs[index];
    const [target, traits] = Array.isArray(ref) && ref.length === 2 ? ref : [ref, 0];
    const named = typeof traits === 'object' && traits !== null ? (traits as Record<string, unknown>) : {};
    return {
      member,
      shape: shapeOf(target),
      code: typeof target === 'number' ? target : undefined,
      ...(typeof named.httpHeader === 'string' ? { header: named.httpHeader.toLowerCase() } : {}),
      ...(typeof named.httpPrefixHeaders === 'string'
        ? { prefixHeader: named.httpPrefixHeaders.toLowerCase() }
        : {}),
      ...(typeof named.httpQuery === 'string' ? { query: named.httpQuery } : {}),
      // A numeric trait bitmask of 1 marks a path label (Bucket, Key).
      label: traits === 1 || named.httpLabel !== undefined,
      payload: named.httpPayload !== undefined || traits === 16,
    };
  });
}

interface Operation {
  name: string;
  input: unknown;
  output: unknown;
  status: number;
  /** The operation has the httpChecksum trait: the SDK may add `x-amz-checksum-<algorithm>`. */
  checksum: boolean;
}

function operation(name: string): Operation {
  const schema = (s3Client as unknown as Record<string, unknown>)[`${name}$`];
  if (!Array.isArray(schema) || schema[0] !== 9) throw new Error(`client-s3 has no operation ${name}`);
  const traits = schema[3] as { http?: [string, string, number]; httpChecksum?: unknown };
  return {
    name,
    input: schema[4],
    output: schema[5],
    status: traits.http?.[2] ?? 200,
    checksum: traits.httpChecksum !== undefined,
  };
}

/** Headers any signed SDK request carries that no operation models (SigV4, the SDK's own, HTTP). */
const TRANSPORT_HEADERS = new Set([
  'authorization',
  'host',
  'connection',
  'user-agent',
  'content-length',
  'transfer-encoding',
  'expect',
  'accept',
  'accept-encoding',
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-security-token',
  'x-amz-user-agent',
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
]);

const CHECKSUM_HEADER = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/;

/** The input the request's headers and query carry, and what the model finds wrong with them. */
function readInput(
  op: Operation,
  request: S3Request,
  path: { bucket: string; key: string },
  query: URLSearchParams,
): { input: Record<string, unknown>; problems: string[] } {
  const bindings = bindingsOf(op.input);
  const input: Record<string, unknown> = { Bucket: path.bucket, Key: path.key };
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(request.headers)) {
    const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
    const bound = bindings.find((binding) => binding.header === name);
    if (bound) {
      const parsed = fromHeader(bound, value);
      if (parsed === undefined)
        problems.push(`header ${name}: ${JSON.stringify(value)} is not a ${bound.shape.kind}`);
      else input[bound.member] = parsed;
      continue;
    }
    const prefixed = bindings.find(
      (binding) => binding.prefixHeader && name.startsWith(binding.prefixHeader),
    );
    if (prefixed?.prefixHeader) {
      const map = (input[prefixed.member] ?? {}) as Record<string, string>;
      map[name.slice(prefixed.prefixHeader.length)] = value;
      input[prefixed.member] = map;
      continue;
    }
    // content-encoding: aws-chunked is the SDK's framing of the body, not a member's value.
    if (TRANSPORT_HEADERS.has(name) || (name === 'content-encoding' && value.includes('aws-chunked')))
      continue;
    // The checksum the httpChecksum trait asks for, whatever algorithm the SDK chose.
    if (op.checksum && CHECKSUM_HEADER.test(name)) continue;
    // The media type of an XML payload member (PutObjectRetention's Retention).
    if (name === 'content-type' && bindings.some((binding) => binding.payload)) continue;
    if (name.startsWith('x-amz-') || name.startsWith('if-') || name.startsWith('content-')) {
      problems.push(`header ${name}: ${op.name}Request has no member bound to it`);
    }
  }
  for (const [name, value] of query) {
    if (name === 'x-id') {
      if (value !== op.name) problems.push(`query x-id=${value} names another operation than ${op.name}`);
      continue;
    }
    const bound = bindings.find((binding) => binding.query === name);
    if (bound) input[bound.member] = value;
    // A subresource flag of the operation's path (`?retention`) carries no value.
    else if (!(value === '' && op.name === 'PutObjectRetention' && name === 'retention')) {
      problems.push(`query ${name}: ${op.name}Request has no member bound to it`);
    }
  }
  return { input, problems };
}

function fromHeader(binding: Binding, value: string): unknown {
  switch (binding.shape.kind) {
    case 'number': {
      const number = Number(value);
      return value.trim() !== '' && Number.isFinite(number) ? number : undefined;
    }
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : undefined;
    case 'timestamp': {
      const date = new Date(binding.code === 7 ? Number(value) * 1000 : value);
      return Number.isNaN(+date) ? undefined : date;
    }
    default:
      return value;
  }
}

function toHeader(binding: Binding, value: unknown): string {
  if (value instanceof Date) {
    // Headers default to http-date; a member marked date-time (5) is ISO 8601.
    return binding.code === 5 ? value.toISOString() : value.toUTCString();
  }
  return String(value);
}

/** The answer's headers from the output model's bindings; a member without one is a sandbox bug. */
function outputHeaders(
  op: Operation,
  output: Record<string, unknown>,
): { headers: Record<string, string>; problems: string[] } {
  const bindings = bindingsOf(op.output);
  const headers: Record<string, string> = {};
  const problems = schemaProblems(op.output, output);
  for (const [member, value] of Object.entries(output)) {
    if (value === undefined) continue;
    const bound = bindings.find((binding) => binding.member === member);
    if (bound?.header) headers[bound.header] = toHeader(bound, value);
    else if (!bound?.payload) problems.push(`${member}: not bound to a header of ${op.name}Output`);
  }
  return { headers, problems };
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/** Error codes S3 answers that its model does not list (the model names only a few). */
const S3_ERROR_STATUS: Record<string, number> = {
  AccessDenied: 403,
  BadDigest: 400,
  InvalidArgument: 400,
  InvalidRequest: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  MalformedXML: 400,
};

function s3Error(code: keyof typeof S3_ERROR_STATUS, message: string): AwsServiceError {
  return new AwsServiceError(code, message, S3_ERROR_STATUS[code]);
}

function errorXml(error: AwsServiceError, requestId: string): Buffer {
  const xmlText = (text: string) =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlText(error.code)}</Code><Message>${xmlText(error.message)}</Message><RequestId>${requestId}</RequestId></Error>`,
  );
}

/** The body as sent: aws-chunked framing (`<hex size>[;…]\r\n<data>\r\n`…, then trailers) removed. */
function decodeBody(request: S3Request): Buffer {
  const encoding = String(request.headers['content-encoding'] ?? '');
  if (!encoding.includes('aws-chunked')) return request.body;
  const parts: Buffer[] = [];
  let offset = 0;
  const { body } = request;
  while (offset < body.length) {
    const end = body.indexOf('\r\n', offset);
    if (end < 0) break;
    const size = Number.parseInt(body.subarray(offset, end).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(end + 2, end + 2 + size));
    offset = end + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** The trailer a streaming upload sends its checksum in (`x-amz-checksum-sha256:<base64>`). */
function trailerChecksum(request: S3Request): string | undefined {
  if (!String(request.headers['x-amz-trailer'] ?? '').includes('x-amz-checksum-sha256')) return undefined;
  return /x-amz-checksum-sha256:([A-Za-z0-9+/=]+)/.exec(request.body.toString('latin1'))?.[1];
}

function current(versions: readonly S3ObjectVersion[] | undefined): S3ObjectVersion | undefined {
  const last = versions?.at(-1);
  return last && !last.deleteMarker ? last : undefined;
}

function versionId(): string {
  return randomBytes(16).toString('base64url');
}

function lockedUntil(version: S3ObjectVersion, now: Date): boolean {
  return version.lockMode === 'COMPLIANCE' && version.retainUntil !== undefined && version.retainUntil > now;
}

/** Answers one S3 request (the server has authenticated the caller from the SigV4 scope). */
export async function serveS3(request: S3Request, context: S3Context, requestId: string): Promise<S3Answer> {
  const url = new URL(request.url, 'http://sandbox');
  const query = url.searchParams;
  const [bucketName = '', ...keyParts] = url.pathname.replace(/^\//, '').split('/');
  const key = keyParts.map(decodeURIComponent).join('/');
  const method = request.method.toUpperCase();
  let name: string;
  if (method === 'PUT' && query.has('retention')) name = 'PutObjectRetention';
  else if (method === 'PUT' && key !== '') name = 'PutObject';
  else if (method === 'HEAD' && key !== '') name = 'HeadObject';
  else if (
    method === 'GET' &&
    key !== '' &&
    ![...query.keys()].some((k) => k !== 'versionId' && k !== 'x-id')
  )
    name = 'GetObject';
  else if (method === 'DELETE' && key !== '') name = 'DeleteObject';
  else name = `${method} ${url.pathname}`;

  const fail = (error: AwsServiceError, problems: string[] = []): S3Answer => ({
    status: error.status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    // A HEAD answer has no body; the SDK reads the status (404 → NotFound).
    body: method === 'HEAD' ? Buffer.alloc(0) : errorXml(error, requestId),
    action: name,
    code: error.code,
    problems,
  });
  if (!['PutObject', 'HeadObject', 'GetObject', 'DeleteObject', 'PutObjectRetention'].includes(name)) {
    return fail(s3Error('NotImplemented', `The local AWS sandbox does not implement s3 ${name}.`));
  }
  const op = operation(name);
  const read = readInput(op, request, { bucket: bucketName, key }, query);
  if (context.checkSchemas && read.problems.length > 0) {
    return fail(
      new AwsServiceError('InternalError', `sandbox: s3:${name} request does not match the model`, 500),
      read.problems,
    );
  }
  const { input } = read;
  const now = context.now ?? new Date();
  const target = bucket(context.state, bucketName);
  if (!target) return fail(s3Error('NoSuchBucket', 'The specified bucket does not exist'));

  const allowed = async (action: string): Promise<boolean> => {
    const decision = await decide(
      context.state,
      context.caller,
      // Only the wording of the denial depends on the service; S3 answers "Access Denied" whatever it is.
      'secretsmanager',
      {
        action,
        resource: `arn:aws:s3:::${target.name}/${key}`,
        resourceAccount: target.accountId,
        ...(target.policy ? { resourcePolicy: target.policy.document } : {}),
        region: context.region,
      },
    );
    return decision.allowed;
  };
  const denied = () => fail(s3Error('AccessDenied', 'Access Denied'));
  const versions = target.objects.get(key);
  const answer = (output: Record<string, unknown>, body: Buffer = Buffer.alloc(0)): S3Answer => {
    const built = outputHeaders(op, output);
    return {
      status: op.status,
      headers: { ...built.headers, 'x-amz-request-id': requestId },
      body,
      action: name,
      problems: context.checkSchemas ? built.problems : [],
    };
  };
  const find = (): S3ObjectVersion | AwsServiceError => {
    const wanted = input.VersionId as string | undefined;
    const found = wanted ? versions?.find((v) => v.versionId === wanted) : current(versions);
    if (!found) {
      return wanted
        ? s3Error('NoSuchVersion', 'The specified version does not exist.')
        : s3Error('NoSuchKey', 'The specified key does not exist.');
    }
    return found;
  };

  switch (name) {
    case 'PutObject': {
      const mode = input.ObjectLockMode as string | undefined;
      const retainUntil = input.ObjectLockRetainUntilDate as Date | undefined;
      const locking = mode !== undefined || retainUntil !== undefined;
      if (!(await allowed('s3:PutObject')) || (locking && !(await allowed('s3:PutObjectRetention')))) {
        return denied();
      }
      if (locking) {
        if (!target.objectLock)
          return fail(s3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration'));
        if (mode === undefined || retainUntil === undefined) {
          return fail(
            s3Error(
              'InvalidArgument',
              'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
            ),
          );
        }
        if (mode !== 'COMPLIANCE' && mode !== 'GOVERNANCE')
          return fail(s3Error('InvalidArgument', 'Unknown wormMode directive.'));
        if (retainUntil <= now)
          return fail(s3Error('InvalidArgument', 'The retain until date must be in the future!'));
        if (
          input.ContentMD5 === undefined &&
          input.ChecksumSHA256 === undefined &&
          trailerChecksum(request) === undefined
        ) {
          return fail(
            s3Error(
              'InvalidRequest',
              'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
            ),
          );
        }
      }
      const body = decodeBody(request);
      const sha256 = createHash('sha256').update(body).digest('base64');
      const claimed = (input.ChecksumSHA256 as string | undefined) ?? trailerChecksum(request);
      if (claimed !== undefined && claimed !== sha256) {
        return fail(s3Error('BadDigest', 'The SHA256 you specified did not match the calculated checksum.'));
      }
      const ifNoneMatch = input.IfNoneMatch as string | undefined;
      if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
        return fail(
          s3Error('NotImplemented', 'A header you provided implies functionality that is not implemented'),
        );
      }
      if (ifNoneMatch === '*' && current(versions)) {
        return fail(
          s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'),
        );
      }
      const version: S3ObjectVersion = {
        versionId: versionId(),
        deleteMarker: false,
        body,
        ...(input.ContentType ? { contentType: String(input.ContentType) } : {}),
        ...(claimed !== undefined ? { checksumSha256: claimed } : {}),
        etag: `"${createHash('md5').update(body).digest('hex')}"`,
        lastModified: now,
        ...(locking ? { lockMode: mode as 'COMPLIANCE' | 'GOVERNANCE', retainUntil } : {}),
      };
      target.objects.set(key, [...(versions ?? []), version]);
      return answer({
        ETag: version.etag,
        ...(version.checksumSha256
          ? { ChecksumSHA256: version.checksumSha256, ChecksumType: 'FULL_OBJECT' }
          : {}),
        ...(target.objectLock ? { VersionId: version.versionId } : {}),
      });
    }
    case 'HeadObject':
    case 'GetObject': {
      if (!(await allowed(input.VersionId ? 's3:GetObjectVersion' : 's3:GetObject'))) return denied();
      const found = find();
      if (found instanceof AwsServiceError) return fail(found);
      const withChecksum = input.ChecksumMode === 'ENABLED' && found.checksumSha256 !== undefined;
      return answer(
        {
          LastModified: found.lastModified,
          ContentLength: found.body.length,
          ETag: found.etag,
          ...(target.objectLock ? { VersionId: found.versionId } : {}),
          ...(found.contentType ? { ContentType: found.contentType } : {}),
          ...(withChecksum ? { ChecksumSHA256: found.checksumSha256, ChecksumType: 'FULL_OBJECT' } : {}),
          ...(found.lockMode
            ? { ObjectLockMode: found.lockMode, ObjectLockRetainUntilDate: found.retainUntil }
            : {}),
        },
        name === 'GetObject' ? found.body : Buffer.alloc(0),
      );
    }
    case 'DeleteObject': {
      const wanted = input.VersionId as string | undefined;
      if (!(await allowed(wanted ? 's3:DeleteObjectVersion' : 's3:DeleteObject'))) return denied();
      if (!wanted) {
        // A versioned bucket keeps every version: deleting the key only stacks a delete marker.
        const marker: S3ObjectVersion = {
          versionId: versionId(),
          deleteMarker: true,
          body: Buffer.alloc(0),
          etag: '',
          lastModified: now,
        };
        if (target.objectLock) target.objects.set(key, [...(versions ?? []), marker]);
        else target.objects.delete(key);
        return answer(target.objectLock ? { DeleteMarker: true, VersionId: marker.versionId } : {});
      }
      const found = find();
      if (found instanceof AwsServiceError) return fail(found);
      if (lockedUntil(found, now))
        return fail(s3Error('AccessDenied', 'Access Denied because object protected by object lock.'));
      target.objects.set(
        key,
        (versions ?? []).filter((version) => version !== found),
      );
      return answer({ VersionId: found.versionId, ...(found.deleteMarker ? { DeleteMarker: true } : {}) });
    }
    case 'PutObjectRetention': {
      if (!(await allowed('s3:PutObjectRetention'))) return denied();
      const found = find();
      if (found instanceof AwsServiceError) return fail(found);
      const text = request.body.toString('utf8');
      const mode = /<Mode>([^<]*)<\/Mode>/.exec(text)?.[1];
      const until = /<RetainUntilDate>([^<]*)<\/RetainUntilDate>/.exec(text)?.[1];
      const date = until ? new Date(until) : undefined;
      if (!mode || !date || Number.isNaN(+date))
        return fail(s3Error('MalformedXML', 'The XML you provided was not well-formed'));
      if (lockedUntil(found, now) && (mode !== 'COMPLIANCE' || date < (found.retainUntil as Date))) {
        // Compliance mode: nobody, the account root included, shortens it or changes the mode.
        return fail(s3Error('AccessDenied', 'Access Denied because object protected by object lock.'));
      }
      found.lockMode = mode as 'COMPLIANCE' | 'GOVERNANCE';
      found.retainUntil = date;
      return answer({});
    }
  }
  return fail(s3Error('NotImplemented', `The local AWS sandbox does not implement s3 ${name}.`));
}
