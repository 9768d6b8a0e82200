import type { Route } from '../rest-kit';

// Placeholder: filled in by the work on this resource kind.
export const runnerGroupRoutes: Route[] = [];
