import { AccessReviewError } from '../../functions/core/errors';
import type { Services } from '../../functions/runtime/services';

export type StepHandler = (input: unknown, services: Services) => Promise<unknown>;

export class UnknownHandlerError extends AccessReviewError {}

/**
 * The Lambda entry the stack built for a state, loaded from functions/handlers/<name>.ts. Each
 * handler file exports `handler` (what Lambda runs) and `run` (the same step, taking services).
 */
export async function loadStepHandler(handlerName: string): Promise<StepHandler> {
  if (!/^[a-z][a-z-]*$/.test(handlerName))
    throw new UnknownHandlerError(`not a handler name: ${handlerName}`);
  const module = (await import(`../../functions/handlers/${handlerName}.ts`)) as { run?: unknown };
  if (typeof module.run !== 'function') {
    throw new UnknownHandlerError(`functions/handlers/${handlerName}.ts exports no run(input, services)`);
  }
  return module.run as StepHandler;
}
