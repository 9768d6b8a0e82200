import { installation } from '../cicd/bodies-actions';
import { DOCS, notFound, pagedWithCount, type Route, route } from '../rest-kit';
import { isOrganization } from '../state';

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
