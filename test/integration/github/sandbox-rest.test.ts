import { readFileSync } from 'node:fs';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { packageFile } from '../../../sandbox/github/schema';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { acmeOrganization, startSandbox, TOKEN } from './helpers';

/*
 * The sandbox's REST answers are checked against GitHub's own OpenAPI description: the response
 * schema is looked up by path template and method, never copied. The 13 MB document is read once.
 */
interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; requestBody?: { content: Record<string, unknown> } }>
  >;
  components: Record<string, unknown>;
}

const DOCUMENT_ID = 'https://api.github.com/openapi.json';
let openapi: OpenApiDocument;
let ajv: Ajv;

beforeAll(() => {
  openapi = JSON.parse(
    readFileSync(packageFile('@octokit/openapi', 'generated/api.github.com.json'), 'utf8'),
  ) as OpenApiDocument;
  ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
  // ajv-formats is CJS; depending on the loader its function is the module or its `default`.
  const formats = (addFormats as unknown as { default?: typeof addFormats }).default ?? addFormats;
  formats(ajv);
  // Registered under an id so that `#/components/schemas/x` inside every schema resolves, and so
  // a validator can point into the document at an operation's response schema.
  ajv.addSchema({ $id: DOCUMENT_ID, paths: openapi.paths, components: openapi.components });
});

const pointerSegment = (segment: string) =>
  encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));

/** The validator for `status` of `method template`, taken from the OpenAPI document. */
function responseValidator(method: string, template: string, status: string): ValidateFunction {
  const operation = openapi.paths[template]?.[method];
  expect(operation, `${method} ${template} in the OpenAPI document`).toBeDefined();
  let response = operation?.responses[status] as
    | { $ref?: string; content?: Record<string, unknown> }
    | undefined;
  let location = `#/paths/${pointerSegment(template)}/${method}/responses/${status}`;
  if (response?.$ref) {
    // Shared responses such as #/components/responses/not_found.
    location = response.$ref;
    const name = response.$ref.split('/').at(-1) ?? '';
    response = (openapi.components.responses as Record<string, typeof response>)[name];
  }
  const mediaType = Object.keys(response?.content ?? {})[0];
  expect(mediaType, `${status} of ${method} ${template} has a body`).toBeDefined();
  return ajv.compile({ $ref: `${DOCUMENT_ID}${location}/content/${pointerSegment(mediaType ?? '')}/schema` });
}

/** The validator for the JSON request body of `method template`, taken from the OpenAPI document. */
function requestValidator(method: string, template: string): ValidateFunction {
  const content = openapi.paths[template]?.[method]?.requestBody?.content;
  expect(content?.['application/json'], `JSON request body of ${method} ${template}`).toBeDefined();
  const location = `#/paths/${pointerSegment(template)}/${method}/requestBody/content/${pointerSegment('application/json')}/schema`;
  return ajv.compile({ $ref: `${DOCUMENT_ID}${location}` });
}

let sandbox: GitHubSandbox;
beforeEach(async () => {
  sandbox = await startSandbox(await acmeOrganization());
});
afterEach(() => sandbox.close());

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: `token ${TOKEN}`, accept: 'application/vnd.github+json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as unknown) : undefined,
  };
}

function expectValid(validate: ValidateFunction, body: unknown) {
  const valid = validate(body);
  expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
  expect(valid).toBe(true);
}

describe('GitHub sandbox REST answers match GitHub OpenAPI description', () => {
  it('GET /orgs/{org}/memberships/{username}', async () => {
    const validate = responseValidator('get', '/orgs/{org}/memberships/{username}', '200');
    const owner = await call('GET', '/orgs/acme/memberships/frank');
    expect(owner.status).toBe(200);
    expectValid(validate, owner.body);
    expect(owner.body).toMatchObject({ role: 'admin', state: 'active', user: { login: 'frank' } });
    const member = await call('GET', '/orgs/acme/memberships/bob');
    expectValid(validate, member.body);
    expect(member.body).toMatchObject({ role: 'member' });
    // The validator is real: the same body without a required field, or with a role GitHub lacks, fails.
    const { organization_url: _dropped, ...incomplete } = owner.body as Record<string, unknown>;
    expect(validate(incomplete)).toBe(false);
    expect(validate({ ...(owner.body as object), role: 'owner' })).toBe(false);
    // gina is only an outside collaborator.
    expect((await call('GET', '/orgs/acme/memberships/gina')).status).toBe(404);
  });

  it('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', async () => {
    const validate = responseValidator('get', '/orgs/{org}/teams/{team_slug}/memberships/{username}', '200');
    const maintainer = await call('GET', '/orgs/acme/teams/web/memberships/dave');
    expect(maintainer.status).toBe(200);
    expectValid(validate, maintainer.body);
    expect(maintainer.body).toMatchObject({ role: 'maintainer', state: 'active' });
    const member = await call('GET', '/orgs/acme/teams/platform/memberships/bob');
    expectValid(validate, member.body);
    expect(member.body).toMatchObject({ role: 'member' });
    expect((await call('GET', '/orgs/acme/teams/web/memberships/bob')).status).toBe(404);
  });

  it('GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}, with and without the repository media type', async () => {
    const validate = responseValidator('get', '/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', '200');
    const detailed = await call('GET', '/orgs/acme/teams/platform/repos/acme/infra', {
      accept: 'application/vnd.github.v3.repository+json',
    });
    expect(detailed.status).toBe(200);
    expectValid(validate, detailed.body);
    expect(detailed.body).toMatchObject({
      full_name: 'acme/infra',
      role_name: 'admin',
      permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
    });
    const write = await call('GET', '/orgs/acme/teams/platform/repos/acme/api', {
      accept: 'application/vnd.github.v3.repository+json',
    });
    expect(write.body).toMatchObject({
      role_name: 'write',
      permissions: { admin: false, maintain: false, push: true },
    });
    expect(validate({ ...(detailed.body as object), html_url: 'not a uri' })).toBe(false);
    const bare = await call('GET', '/orgs/acme/teams/platform/repos/acme/infra');
    expect(bare.status).toBe(204);
    expect(bare.body).toBeUndefined();
    expect((await call('GET', '/orgs/acme/teams/platform/repos/acme/web')).status).toBe(404);
  });

  it('GET /repos/{owner}/{repo}/collaborators/{username}/permission', async () => {
    const validate = responseValidator(
      'get',
      '/repos/{owner}/{repo}/collaborators/{username}/permission',
      '200',
    );
    // carol: base read, direct write, platform write → write.
    const carol = await call('GET', '/repos/acme/api/collaborators/carol/permission');
    expect(carol.status).toBe(200);
    expectValid(validate, carol.body);
    expect(carol.body).toMatchObject({ permission: 'write', role_name: 'write', user: { login: 'carol' } });
    const gina = await call('GET', '/repos/acme/api/collaborators/gina/permission');
    expectValid(validate, gina.body);
    expect(gina.body).toMatchObject({ permission: 'read' });
    expect((await call('GET', '/repos/acme/nope/collaborators/gina/permission')).status).toBe(404);
  });

  it('the 404 body matches basic-error', async () => {
    const validate = responseValidator('get', '/orgs/{org}/memberships/{username}', '404');
    const missing = await call('GET', '/orgs/acme/memberships/nobody');
    expect(missing.status).toBe(404);
    expectValid(validate, missing.body);
  });
});

describe('GitHub sandbox REST role changes match GitHub OpenAPI description', () => {
  it('PUT /orgs/{org}/memberships/{username}: demotes and promotes a member, 200 org-membership', async () => {
    const template = '/orgs/{org}/memberships/{username}';
    const validateRequest = requestValidator('put', template);
    const validate = responseValidator('put', template, '200');
    const demote = { role: 'member' };
    expectValid(validateRequest, demote);
    // The request validator is real: a role GitHub does not have fails it.
    expect(validateRequest({ role: 'owner' })).toBe(false);

    const demoted = await call('PUT', '/orgs/acme/memberships/frank', {}, demote);
    expect(demoted.status).toBe(200);
    expectValid(validate, demoted.body);
    expect(demoted.body).toMatchObject({ role: 'member', state: 'active', user: { login: 'frank' } });
    expect((await call('GET', '/orgs/acme/memberships/frank')).body).toMatchObject({ role: 'member' });
    expect(sandbox.requests.at(-2)?.body).toEqual(demote);

    const promote = { role: 'admin' };
    expectValid(validateRequest, promote);
    const promoted = await call('PUT', '/orgs/acme/memberships/frank', {}, promote);
    expectValid(validate, promoted.body);
    expect(promoted.body).toMatchObject({ role: 'admin', state: 'active' });

    // No body: the schema's default role, member.
    expectValid(validateRequest, {});
    const defaulted = await call('PUT', '/orgs/acme/memberships/frank');
    expectValid(validate, defaulted.body);
    expect(defaulted.body).toMatchObject({ role: 'member' });
  });

  it('PUT /orgs/{org}/memberships/{username} for a non-member invites them: pending, and DELETE cancels', async () => {
    const validate = responseValidator('put', '/orgs/{org}/memberships/{username}', '200');
    const invited = await call('PUT', '/orgs/acme/memberships/gina', {}, { role: 'member' });
    expect(invited.status).toBe(200);
    expectValid(validate, invited.body);
    expect(invited.body).toMatchObject({ role: 'member', state: 'pending', user: { login: 'gina' } });
    const pending = await call('GET', '/orgs/acme/memberships/gina');
    expectValid(responseValidator('get', '/orgs/{org}/memberships/{username}', '200'), pending.body);
    expect(pending.body).toMatchObject({ state: 'pending' });
    // An invitation is not membership: no access through the org.
    expect((await call('GET', '/repos/acme/web/collaborators/gina/permission')).body).toMatchObject({
      permission: 'none',
    });
    expect((await call('DELETE', '/orgs/acme/memberships/gina')).status).toBe(204);
    expect((await call('GET', '/orgs/acme/memberships/gina')).status).toBe(404);
  });

  it('PUT /orgs/{org}/memberships/{username} refuses a role GitHub lacks with 422, and unknown users with 404', async () => {
    const refused = await call('PUT', '/orgs/acme/memberships/frank', {}, { role: 'owner' });
    expect(refused.status).toBe(422);
    expectValid(responseValidator('put', '/orgs/{org}/memberships/{username}', '422'), refused.body);
    expect((refused.body as { message: string }).message).toContain("'properties/role'");
    expect((await call('GET', '/orgs/acme/memberships/frank')).body).toMatchObject({ role: 'admin' });
    expect((await call('PUT', '/orgs/acme/memberships/nobody', {}, { role: 'member' })).status).toBe(404);
    expect((await call('PUT', '/orgs/other/memberships/frank', {}, { role: 'member' })).status).toBe(404);
  });

  it('PUT /orgs/{org}/teams/{team_slug}/memberships/{username}: demotes a maintainer, 200 team-membership', async () => {
    const template = '/orgs/{org}/teams/{team_slug}/memberships/{username}';
    const validateRequest = requestValidator('put', template);
    const validate = responseValidator('put', template, '200');
    const demote = { role: 'member' };
    expectValid(validateRequest, demote);
    expect(validateRequest({ role: 'owner' })).toBe(false);

    const demoted = await call('PUT', '/orgs/acme/teams/web/memberships/dave', {}, demote);
    expect(demoted.status).toBe(200);
    expectValid(validate, demoted.body);
    expect(demoted.body).toMatchObject({ role: 'member', state: 'active' });
    expect((await call('GET', '/orgs/acme/teams/web/memberships/dave')).body).toMatchObject({
      role: 'member',
    });

    expectValid(validateRequest, { role: 'maintainer' });
    const promoted = await call('PUT', '/orgs/acme/teams/web/memberships/dave', {}, { role: 'maintainer' });
    expectValid(validate, promoted.body);
    expect(promoted.body).toMatchObject({ role: 'maintainer' });

    const refused = await call('PUT', '/orgs/acme/teams/web/memberships/dave', {}, { role: 'owner' });
    expect(refused.status).toBe(422);
    expect((await call('PUT', '/orgs/acme/teams/ghost/memberships/dave', {}, demote)).status).toBe(404);
  });

  it('PUT team membership: an owner still reads as maintainer, an org member is added, a non-member is invited', async () => {
    const validate = responseValidator('put', '/orgs/{org}/teams/{team_slug}/memberships/{username}', '200');
    // alice owns the org: "The role for organization owners is set to maintainer".
    const owner = await call('PUT', '/orgs/acme/teams/platform/memberships/alice', {}, { role: 'member' });
    expectValid(validate, owner.body);
    expect(owner.body).toMatchObject({ role: 'maintainer', state: 'active' });
    expect(sandbox.state.teams.get('platform')?.members.get('alice')?.role).toBe('member');

    // bob is in the org but not in web: the PUT adds him.
    const added = await call('PUT', '/orgs/acme/teams/web/memberships/bob', {}, { role: 'member' });
    expectValid(validate, added.body);
    expect(added.body).toMatchObject({ role: 'member', state: 'active' });
    expect((await call('GET', '/orgs/acme/teams/web/memberships/bob')).status).toBe(200);

    // gina is not in the org: she is invited, the team membership pending.
    const invited = await call('PUT', '/orgs/acme/teams/web/memberships/gina', {}, { role: 'member' });
    expectValid(validate, invited.body);
    expect(invited.body).toMatchObject({ state: 'pending' });
    expect((await call('GET', '/orgs/acme/memberships/gina')).body).toMatchObject({ state: 'pending' });
    expect((await call('GET', '/orgs/acme/teams/web/memberships/gina')).body).toMatchObject({
      state: 'pending',
    });
    expect(sandbox.state.teams.get('web')?.members.has('gina')).toBe(false);
  });
});

describe('GitHub sandbox REST removals', () => {
  it('DELETE org membership: 204, then 404; team memberships go, collaborator entries stay', async () => {
    expect((await call('DELETE', '/orgs/acme/memberships/carol')).status).toBe(204);
    expect((await call('DELETE', '/orgs/acme/memberships/carol')).status).toBe(404);
    expect((await call('GET', '/orgs/acme/memberships/carol')).status).toBe(404);
    expect((await call('GET', '/orgs/acme/teams/platform/memberships/carol')).status).toBe(404);
    const permission = await call('GET', '/repos/acme/api/collaborators/carol/permission');
    expect(permission.body).toMatchObject({ permission: 'write' });
  });

  it('DELETE team membership: 204, then 404', async () => {
    expect((await call('DELETE', '/orgs/acme/teams/platform/memberships/bob')).status).toBe(204);
    expect((await call('DELETE', '/orgs/acme/teams/platform/memberships/bob')).status).toBe(404);
    expect((await call('GET', '/orgs/acme/memberships/bob')).status).toBe(200);
  });

  it('DELETE team repository: 204 each time, the access is gone; 404 for an unknown team', async () => {
    expect((await call('DELETE', '/orgs/acme/teams/web/repos/acme/web')).status).toBe(204);
    expect((await call('GET', '/orgs/acme/teams/web/repos/acme/web')).status).toBe(404);
    expect((await call('DELETE', '/orgs/acme/teams/web/repos/acme/web')).status).toBe(204);
    expect((await call('DELETE', '/orgs/acme/teams/ghost/repos/acme/web')).status).toBe(404);
  });

  it('DELETE collaborator: 204, effective permission falls to what remains', async () => {
    expect((await call('DELETE', '/repos/acme/api/collaborators/gina')).status).toBe(204);
    expect((await call('GET', '/repos/acme/api/collaborators/gina/permission')).body).toMatchObject({
      permission: 'none',
    });
    expect((await call('DELETE', '/repos/acme/infra/collaborators/bob')).status).toBe(204);
    // bob still has admin on infra through team platform.
    expect((await call('GET', '/repos/acme/infra/collaborators/bob/permission')).body).toMatchObject({
      permission: 'admin',
    });
  });
});

describe('GitHub sandbox HTTP behaviour', () => {
  it('answers 401 with GitHub body without credentials or with a wrong token, token and Bearer both work', async () => {
    for (const authorization of [undefined, 'token nope', `Basic ${TOKEN}`]) {
      const response = await fetch(`${sandbox.url}/orgs/acme/memberships/bob`, {
        headers: authorization ? { authorization } : {},
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ message: 'Bad credentials', status: '401' });
    }
    const bearer = await call('GET', '/orgs/acme/memberships/bob', { authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(200);
  });

  it('answers 404 Not Found for routes it does not implement', async () => {
    for (const [method, path] of [
      ['GET', '/orgs/acme/repos'],
      ['PATCH', '/orgs/acme/memberships/bob'],
      ['PUT', '/orgs/acme/outside_collaborators/bob'],
      ['GET', '/user/orgs'], // GET /user is served: the tool's own identity (revocation guard)
    ] as const) {
      const response = await call(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body).toMatchObject({ message: 'Not Found', status: '404' });
    }
  });

  it('sends rate limit headers per resource, counting down', async () => {
    const first = await call('GET', '/orgs/acme/memberships/bob');
    const second = await call('GET', '/orgs/acme/memberships/bob');
    expect(first.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(first.headers.get('x-ratelimit-resource')).toBe('core');
    expect(Number(second.headers.get('x-ratelimit-remaining'))).toBe(
      Number(first.headers.get('x-ratelimit-remaining')) - 1,
    );
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    const graphql = await fetch(`${sandbox.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `bearer ${TOKEN}` },
      body: JSON.stringify({ query: '{ organization(login: "acme") { login } }' }),
    });
    expect(graphql.headers.get('x-ratelimit-resource')).toBe('graphql');
    expect(graphql.headers.get('x-ratelimit-remaining')).toBe('4999');
  });

  it('records requests and injects failures for the next N matching requests only', async () => {
    sandbox.failNext({ status: 502, times: 2, match: { method: 'GET', path: /memberships/ } });
    expect((await call('DELETE', '/orgs/acme/teams/web/repos/acme/web')).status).toBe(204);
    expect((await call('GET', '/orgs/acme/memberships/bob')).status).toBe(502);
    expect((await call('GET', '/orgs/acme/memberships/bob')).status).toBe(502);
    expect((await call('GET', '/orgs/acme/memberships/bob')).status).toBe(200);
    expect(
      sandbox.requests.map((request) => [request.method, request.path, request.status, request.injected]),
    ).toEqual([
      ['DELETE', '/orgs/acme/teams/web/repos/acme/web', 204, false],
      ['GET', '/orgs/acme/memberships/bob', 502, true],
      ['GET', '/orgs/acme/memberships/bob', 502, true],
      ['GET', '/orgs/acme/memberships/bob', 200, false],
    ]);
  });
});
