import { jwtProblem, type SandboxApp } from '../app-auth';
import { organizationAsOwner } from '../bodies';
import { installation } from '../cicd/bodies-actions';
import { DOCS, notFound, pagedWithCount, type RestResponse, type Route, route } from '../rest-kit';
import { type GitHubState, isOrganization } from '../state';

/*
 * The GitHub Apps installed on the organisation. Uninstalling is done by the app or in the org's
 * settings, not through an org-scoped endpoint a token can call, so there is no DELETE here.
 */

const INSTALLATIONS_DOCS = `${DOCS}/orgs/orgs#list-app-installations-for-an-organization`;

export const appRoutes: Route[] = [
  route('GET', '/orgs/{org}/installations', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(INSTALLATIONS_DOCS);
    const apps = [...state.cicd.apps.values()].sort((a, b) => a.id - b.id);
    return pagedWithCount(apps, 'installations', request, baseUrl, (app) =>
      installation(baseUrl, state, app),
    );
  }),
];

const GET_APP_DOCS = `${DOCS}/apps/apps#get-the-authenticated-app`;

/**
 * GET /app: the app the request's JWT was signed for (the `integration` schema). Only the app's
 * JWT is accepted ("You must use a JWT to access this endpoint"); an installation or personal
 * token is not a JWT, so GitHub cannot decode it (401). The app is the one the sandbox mints
 * installation tokens for, owned by the organisation; its permissions are those of its installation
 * there when the organisation lists one with its slug.
 */
export function getAuthenticatedApp(
  state: GitHubState,
  baseUrl: string,
  app: SandboxApp,
  credential: string,
): RestResponse {
  const problem = jwtProblem(credential, app);
  if (problem) {
    return { status: 401, body: { message: problem, documentation_url: GET_APP_DOCS, status: '401' } };
  }
  const slug = app.slug ?? 'access-review';
  const installed = [...state.cicd.apps.values()].find((candidate) => candidate.slug === slug);
  const id = Number(app.appId);
  return {
    status: 200,
    body: {
      id,
      slug,
      node_id: Buffer.from(`03:Integration${id}`).toString('base64'),
      client_id: `Iv1.${app.appId.padStart(16, '0')}`,
      owner: organizationAsOwner(baseUrl, state),
      name: app.name ?? slug,
      description: '',
      external_url: `${baseUrl}/apps/${slug}`,
      html_url: `${baseUrl}/apps/${slug}`,
      created_at: '2024-03-01T00:00:00Z',
      updated_at: '2024-03-01T00:00:00Z',
      permissions: installed?.permissions ?? { members: 'write', administration: 'write' },
      events: [],
      installations_count: 1,
    },
  };
}
