import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { prototypeKeyPaths } from '../../functions/core/records';
import { listenOnLoopback } from '../loopback';
import { authorize } from './authorize';
import type { CallContext, Handlers, OperationOutput } from './context';
import {
  type AuthenticationFailure,
  type CredentialScope,
  credentialsOf,
  isFailure,
  parseAuthorization,
} from './credentials';
import { type PolicyKind, simulatorPolicyProblems } from './documents';
import { AwsScenarioError, AwsSchemaViolation, AwsServiceError } from './errors';
import { iamHandlers } from './iam';
import { requestId as newRequestId } from './ids';
import {
  isUnitOutput,
  type JsonService,
  jsonErrorBody,
  jsonErrorProblems,
  parseTarget,
  toJsonWire,
} from './json-protocol';
import { kmsHandlers } from './kms';
import {
  isQueryService,
  QUERY_SERVICES,
  type QueryService,
  queryErrorProblems,
  queryErrorXml,
  queryResponseXml,
  readQueryInput,
} from './query-protocol';
import { serveS3 } from './s3';
import {
  type AwsScenario,
  type AwsScenarioInput,
  awsScenarioProblems,
  awsScenarioSchema,
  describeAwsIssues,
} from './scenario';
import {
  type AwsService,
  type OperationModel,
  operationModel,
  schemaCheckingEnabled,
  schemaProblems,
} from './schemas';
import { secretsManagerHandlers } from './secrets-manager';
import { AwsState, type Caller } from './state';
import { stsHandlers } from './sts';

/** One request as the sandbox saw it, for tests that assert on what a client did. */
export interface AwsRecordedRequest {
  service: AwsService | 's3' | 'unknown';
  action: string;
  /** The caller's account; undefined when the request carried no usable credentials. */
  account?: string;
  /** The ARN the caller acts as (user, or assumed-role session). */
  caller?: string;
  region?: string;
  status: number;
  /** The error code answered, if any. */
  code?: string;
  /** True when the answer came from `failNext`, not from the simulated service. */
  injected: boolean;
}

/** A fault the sandbox answers with instead of serving the request, `times` times (default once). */
export interface AwsInjectedFailure {
  status: number;
  /** The error code: ThrottlingException, Throttling, ServiceUnavailable, InternalFailure… */
  code: string;
  message?: string;
  times?: number;
  /** Only matching requests fail; others pass through untouched and do not use up `times`. */
  match?: { service?: AwsService | 's3'; action?: string | RegExp };
}

export interface AwsSandboxOptions {
  port?: number;
  /** Check every exchange against the SDK's models; defaults to on when AWS_SANDBOX_SCHEMA=check. */
  checkSchemas?: boolean;
  /**
   * Test hook for the schema check itself: rewrites an operation's output before it is checked
   * and sent, so a test can make the sandbox answer something AWS never would.
   */
  transformOutput?: (exchange: {
    service: AwsService;
    action: string;
    output: OperationOutput;
  }) => OperationOutput;
}

export interface AwsSandbox {
  /** Endpoint for every client: IAM, STS, Secrets Manager and KMS alike. */
  url: string;
  /** Long-term credentials acting as the scenario's hubPrincipal. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  hubAccountId: string;
  state: AwsState;
  requests: AwsRecordedRequest[];
  /** Exchanges that broke the SDK's models (each also answered 500). */
  violations: readonly Error[];
  failNext(failure: AwsInjectedFailure): void;
  close(): Promise<void>;
}

const HANDLERS: Record<AwsService, Handlers> = {
  iam: iamHandlers,
  sts: stsHandlers,
  secretsmanager: secretsManagerHandlers,
  kms: kmsHandlers,
};

/** The sandbox cannot answer the operation (the service has it; the sandbox does not simulate it). */
class UnsupportedOperationError extends AwsServiceError {
  constructor(service: AwsService, action: string) {
    super('NotImplemented', `The local AWS sandbox does not implement ${service}:${action}.`, 501);
    this.name = 'UnsupportedOperationError';
  }
}

interface Answer {
  status: number;
  contentType: string;
  body: string | Buffer;
  /** Further headers (S3 answers in headers); they win over the defaults. */
  headers?: Record<string, string>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function authenticationError(protocol: 'query' | 'json', failure: AuthenticationFailure): AwsServiceError {
  const query = protocol === 'query';
  switch (failure.kind) {
    case 'missing':
      return query
        ? new AwsServiceError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403)
        : new AwsServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token');
    case 'malformed':
      return new AwsServiceError(
        query ? 'IncompleteSignature' : 'IncompleteSignatureException',
        failure.detail,
      );
    case 'expired':
      return query
        ? new AwsServiceError('ExpiredToken', 'The security token included in the request is expired', 403)
        : new AwsServiceError(
            'ExpiredTokenException',
            'The security token included in the request is expired',
          );
    case 'unknown-key':
      return query
        ? new AwsServiceError(
            'InvalidClientTokenId',
            'The security token included in the request is invalid.',
            403,
          )
        : new AwsServiceError(
            'UnrecognizedClientException',
            'The security token included in the request is invalid.',
          );
  }
}

function matches(
  failure: AwsInjectedFailure,
  service: AwsService | 's3' | 'unknown',
  action: string,
): boolean {
  const match = failure.match;
  if (!match) return true;
  if (match.service && match.service !== service) return false;
  if (typeof match.action === 'string' && match.action !== action) return false;
  if (match.action instanceof RegExp && !match.action.test(action)) return false;
  return true;
}

/** Every policy document of the scenario that iam-simulate cannot read, so the sandbox refuses to start on it. */
async function unreadablePolicies(state: AwsState): Promise<string[]> {
  const checks: Array<{ where: string; document: Record<string, unknown>; kind: PolicyKind }> = [];
  for (const policy of state.awsManagedPolicies.values()) {
    checks.push({ where: policy.arn, document: state.defaultDocument(policy).document, kind: 'identity' });
  }
  for (const id of state.accountIds()) {
    const account = state.account(id);
    for (const policy of account.policies.values()) {
      checks.push({ where: policy.arn, document: state.defaultDocument(policy).document, kind: 'identity' });
    }
    for (const entity of [...account.users.values(), ...account.groups.values(), ...account.roles.values()]) {
      for (const [name, stored] of entity.inlinePolicies) {
        checks.push({
          where: `${entity.arn} inline policy ${name}`,
          document: stored.document,
          kind: 'identity',
        });
      }
    }
    for (const role of account.roles.values()) {
      checks.push({ where: `${role.arn} trust policy`, document: role.trustPolicy.document, kind: 'trust' });
    }
    for (const key of account.keys.values()) {
      checks.push({ where: `${key.arn} key policy`, document: key.policy.document, kind: 'resource' });
    }
    for (const secret of account.secrets.values()) {
      if (secret.resourcePolicy) {
        checks.push({
          where: `${secret.arn} resource policy`,
          document: secret.resourcePolicy.document,
          kind: 'resource',
        });
      }
    }
  }
  const problems: string[] = [];
  for (const check of checks) {
    for (const problem of await simulatorPolicyProblems(check.document, check.kind)) {
      problems.push(`${check.where}: ${problem}`);
    }
  }
  return problems;
}

type Recorder = (entry: Partial<AwsRecordedRequest>) => void;

interface Route {
  service: AwsService | 'unknown';
  action: string;
  /** The form fields of a Query request; undefined for JSON. */
  params?: URLSearchParams;
}

/**
 * Which service and operation a request is for: JSON services name both in X-Amz-Target; Query
 * requests name the operation in `Action` and the service in the signature's credential scope
 * (or, unsigned, by `Version`). Undefined for an X-Amz-Target the sandbox does not know.
 */
function routeOf(text: string, target: string | undefined, scope: CredentialScope | AuthenticationFailure) {
  if (target !== undefined) {
    const parsed = parseTarget(target);
    return parsed ? ({ ...parsed } satisfies Route) : undefined;
  }
  const params = new URLSearchParams(text);
  const version = params.get('Version');
  const scoped = isFailure(scope) ? undefined : scope.service;
  const byVersion = (Object.keys(QUERY_SERVICES) as QueryService[]).find(
    (name) => QUERY_SERVICES[name].version === version,
  );
  const service = scoped && isQueryService(scoped) ? scoped : (byVersion ?? 'unknown');
  return { service, action: params.get('Action') ?? '', params } satisfies Route;
}

/** The operation's model, or the error AWS gives for an operation (or API version) it does not have. */
function modelOf(service: AwsService, action: string, params: URLSearchParams | undefined) {
  const version = params?.get('Version');
  const query = isQueryService(service);
  const model =
    query && version !== QUERY_SERVICES[service].version ? undefined : operationModel(service, action);
  if (model) return model;
  return query
    ? new AwsServiceError('InvalidAction', `Could not find operation ${action} for version ${version}`)
    : new AwsServiceError('UnknownOperationException', `${action} is not an operation of ${service}`);
}

/** The operation's input, with what the model finds wrong in it (unknown members, wrong types). */
function readInput(
  model: OperationModel,
  params: URLSearchParams | undefined,
  text: string,
): { input: Record<string, unknown>; problems: string[] } | AwsServiceError {
  if (params) return readQueryInput(model.input, params);
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new AwsServiceError(
      'SerializationException',
      'Start of structure or map found where not expected.',
    );
  }
  // A record from outside: a key that rewrites a prototype is refused before any handler copies it.
  const unsafe = prototypeKeyPaths(body);
  if (unsafe.length > 0) {
    return new AwsServiceError('SerializationException', `Unrecognized field ${unsafe.join(', ')}.`);
  }
  const input = body as Record<string, unknown>;
  return { input, problems: schemaProblems(model.input, input, 'json') };
}

/** What the service's model says is wrong with an error answer (a code it does not have…). */
function errorProblems(service: AwsService, error: AwsServiceError): string[] {
  return isQueryService(service)
    ? queryErrorProblems(service, error.code, error.status)
    : jsonErrorProblems(
        service as JsonService,
        jsonErrorBody(service as JsonService, error.code, error.message),
      );
}

function outputProblems(model: OperationModel, output: OperationOutput): string[] {
  if (!isUnitOutput(model.output)) return schemaProblems(model.output, output ?? {});
  return output === undefined ? [] : ['the operation answers nothing, but the sandbox produced output'];
}

function successAnswer(
  service: AwsService,
  model: OperationModel,
  output: OperationOutput,
  id: string,
): Answer {
  if (isQueryService(service)) {
    return {
      status: 200,
      contentType: 'text/xml',
      body: queryResponseXml(service, model.name, model.output, output, id),
    };
  }
  return {
    status: 200,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify(toJsonWire(output ?? {})),
  };
}

/**
 * A stateful stand-in for IAM, STS, Secrets Manager and KMS on 127.0.0.1, built from a scenario's
 * `aws:` section. The real AWS SDK clients run against it unchanged with `endpoint: sandbox.url`
 * and `credentials: sandbox.credentials` (or credentials AssumeRole handed out).
 */
export async function startAwsSandbox(
  scenario: AwsScenario | AwsScenarioInput,
  options: AwsSandboxOptions = {},
): Promise<AwsSandbox> {
  const parsed = awsScenarioSchema.safeParse(scenario);
  if (!parsed.success) {
    throw new AwsScenarioError(describeAwsIssues(parsed.error.issues));
  }
  const problems = awsScenarioProblems(parsed.data);
  if (problems.length > 0) throw new AwsScenarioError(problems);
  const state = new AwsState(parsed.data);
  const unreadable = await unreadablePolicies(state);
  if (unreadable.length > 0) throw new AwsScenarioError(unreadable);

  const checkSchemas = options.checkSchemas ?? schemaCheckingEnabled();
  const requests: AwsRecordedRequest[] = [];
  const violations: AwsSchemaViolation[] = [];
  const failures: Array<AwsInjectedFailure & { remaining: number }> = [];

  const errorAnswer = (service: AwsService | 'unknown', error: AwsServiceError, id: string): Answer => {
    if (service === 'unknown' || isQueryService(service)) {
      return {
        status: error.status,
        contentType: 'text/xml',
        body: queryErrorXml(service === 'unknown' ? 'iam' : service, error, id),
      };
    }
    return {
      status: error.status,
      contentType: 'application/x-amz-json-1.1',
      body: JSON.stringify(jsonErrorBody(service, error.code, error.message)),
    };
  };

  /** A check failed: loud on purpose, so the test that made the exchange fails with the model's words. */
  const violation = (
    service: AwsService,
    action: string,
    what: string,
    found: string[],
    id: string,
  ): Answer => {
    const error = new AwsSchemaViolation(`${service}:${action} ${what}`, found);
    violations.push(error);
    return errorAnswer(service, new AwsServiceError('InternalFailure', `sandbox: ${error.message}`, 500), id);
  };

  /** Answers one request; every path through here records it exactly once. */
  const serve = async (request: IncomingMessage, record: Recorder): Promise<Answer> => {
    const id = newRequestId();
    const raw = await readBody(request);
    const text = raw.toString('utf8');
    const { headers } = request;
    const scope = parseAuthorization(
      typeof headers.authorization === 'string' ? headers.authorization : undefined,
    );
    if (!isFailure(scope) && scope.service === 's3') return serveS3Request(request, raw, scope, id, record);
    const target = typeof headers['x-amz-target'] === 'string' ? headers['x-amz-target'] : undefined;
    const route = routeOf(text, target, scope);
    if (!route) {
      record({ action: target ?? '', status: 400, code: 'UnknownOperationException' });
      return {
        status: 400,
        contentType: 'application/x-amz-json-1.1',
        body: JSON.stringify({ __type: 'UnknownOperationException', message: `Unknown target ${target}` }),
      };
    }
    const { service, action } = route;
    const fail = (error: AwsServiceError, extra: Partial<AwsRecordedRequest> = {}): Answer => {
      record({ service, action, status: error.status, code: error.code, ...extra });
      return errorAnswer(service, error, id);
    };

    const failure = failures.find((candidate) => matches(candidate, service, action));
    if (failure) {
      failure.remaining--;
      if (failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
      const message = failure.message ?? `Injected ${failure.code}`;
      return fail(new AwsServiceError(failure.code, message, failure.status), { injected: true });
    }
    if (service === 'unknown') {
      return fail(
        new AwsServiceError(
          'SignatureDoesNotMatch',
          'Credential should be scoped to a service the sandbox speaks: iam, sts, secretsmanager, kms or s3.',
          403,
        ),
      );
    }
    const authenticated = authenticate(service, scope, headers);
    if (authenticated instanceof AwsServiceError) return fail(authenticated);
    const { caller, region } = authenticated;
    const who = { account: caller.accountId, caller: caller.arn, region };
    const checked = (what: string, problems: string[]): Answer => {
      record({ service, action, status: 500, code: 'InternalFailure', ...who });
      return violation(service, action, what, problems, id);
    };

    const model = modelOf(service, action, route.params);
    if (model instanceof AwsServiceError) return fail(model, who);
    const read = readInput(model, route.params, text);
    if (read instanceof AwsServiceError) return fail(read, who);
    if (checkSchemas && read.problems.length > 0) return checked('request', read.problems);

    const handler = HANDLERS[service][action];
    if (!handler) return fail(new UnsupportedOperationError(service, action), who);
    const context: CallContext = {
      state,
      caller,
      service,
      region,
      authorize: (authorization) => authorize(state, caller, service, { ...authorization, region }),
    };
    let output: OperationOutput;
    try {
      output = await handler(context, read.input);
    } catch (error) {
      if (!(error instanceof AwsServiceError)) {
        // A sandbox bug (or a policy iam-simulate cannot evaluate): loud, in the service's own shape
        // so the SDK shows the message instead of failing to parse the answer.
        const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
        return fail(new AwsServiceError('InternalFailure', `sandbox error: ${detail}`, 500), who);
      }
      const problems = checkSchemas ? errorProblems(service, error) : [];
      return problems.length > 0 ? checked(`error ${error.code}`, problems) : fail(error, who);
    }
    if (options.transformOutput) output = options.transformOutput({ service, action, output });
    if (checkSchemas) {
      const problems = outputProblems(model, output);
      if (problems.length > 0) return checked('response', problems);
    }
    record({ service, action, status: 200, ...who });
    return successAnswer(service, model, output, id);
  };

  /** S3 (REST, answers in headers and XML): routed by the credential scope, see s3.ts. */
  const serveS3Request = async (
    request: IncomingMessage,
    body: Buffer,
    scope: CredentialScope,
    id: string,
    record: Recorder,
  ): Promise<Answer> => {
    const xmlError = (status: number, code: string, message: string): Answer => ({
      status,
      contentType: 'application/xml',
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${id}</RequestId></Error>`,
    });
    const action = `${request.method ?? ''} ${request.url ?? ''}`;
    const failure = failures.find((candidate) => matches(candidate, 's3', action));
    if (failure) {
      failure.remaining--;
      if (failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
      record({ service: 's3', action, status: failure.status, code: failure.code, injected: true });
      return xmlError(failure.status, failure.code, failure.message ?? `Injected ${failure.code}`);
    }
    const credentials = credentialsOf(state, scope, request.headers);
    if (isFailure(credentials)) {
      record({ service: 's3', action, status: 403, code: 'InvalidAccessKeyId' });
      return xmlError(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    }
    const { caller } = credentials;
    const who = { account: caller.accountId, caller: caller.arn, region: scope.region };
    const answer = await serveS3(
      { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body },
      { state, caller, region: scope.region, checkSchemas },
      id,
    );
    if (answer.problems.length > 0) {
      const error = new AwsSchemaViolation(`s3:${answer.action} exchange`, answer.problems);
      violations.push(error);
      record({ service: 's3', action: answer.action, status: 500, code: 'InternalError', ...who });
      return xmlError(500, 'InternalError', `sandbox: ${error.message.replace(/[<&>]/g, ' ')}`);
    }
    record({
      service: 's3',
      action: answer.action,
      status: answer.status,
      ...(answer.code ? { code: answer.code } : {}),
      ...who,
    });
    return {
      status: answer.status,
      contentType: answer.headers['content-type'] ?? 'application/xml',
      body: answer.body,
      headers: answer.headers,
    };
  };

  /** Who is calling, from the signature's credential scope and the credentials the sandbox issued. */
  const authenticate = (
    service: AwsService,
    scope: CredentialScope | AuthenticationFailure,
    headers: IncomingHttpHeaders,
  ): { caller: Caller; region: string } | AwsServiceError => {
    const protocol = isQueryService(service) ? 'query' : 'json';
    if (isFailure(scope)) return authenticationError(protocol, scope);
    if (scope.service !== service) {
      return new AwsServiceError(
        protocol === 'query' ? 'SignatureDoesNotMatch' : 'InvalidSignatureException',
        `Credential should be scoped to correct service: '${service}'.`,
        protocol === 'query' ? 403 : 400,
      );
    }
    const credentials = credentialsOf(state, scope, headers);
    if (isFailure(credentials)) return authenticationError(protocol, credentials);
    return { caller: credentials.caller, region: scope.region };
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let recorded = false;
    const record: Recorder = (entry) => {
      recorded = true;
      requests.push({ service: 'unknown', action: '', status: 0, injected: false, ...entry });
    };
    serve(request, record)
      .then((answer) => {
        response.writeHead(answer.status, {
          'content-type': answer.contentType,
          'content-length': Buffer.byteLength(answer.body),
          ...answer.headers,
        });
        response.end(answer.body);
      })
      .catch((error: unknown) => {
        // A sandbox bug must show up as a loud 500 in the test, not as a hung request.
        if (!recorded) record({ status: 500, code: 'SandboxError' });
        if (!response.headersSent) {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(
            `sandbox error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          );
        } else {
          response.destroy(error instanceof Error ? error : undefined);
        }
      });
  });
  const url = await listenOnLoopback(server, options.port);

  return {
    url,
    credentials: {
      accessKeyId: state.baseCredentials.accessKeyId,
      secretAccessKey: state.baseCredentials.secretAccessKey,
    },
    hubAccountId: state.hubAccountId,
    state,
    requests,
    violations,
    failNext(failure) {
      failures.push({ ...failure, remaining: failure.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // SDK clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
