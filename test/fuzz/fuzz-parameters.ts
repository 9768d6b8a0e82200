import type { Parameters as FcParameters } from 'fast-check';

/**
 * Runs and seed for a property. FUZZ_SEED replays a failure (fast-check prints the seed and the
 * path of the counterexample: pass both, FUZZ_SEED=<seed> FUZZ_PATH=<path>); FUZZ_RUNS scales every
 * property (e.g. FUZZ_RUNS=10 runs ten times the default numbers for a longer local hunt).
 */
export function fuzzParameters<T>(numRuns: number): FcParameters<T> {
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  const scale = process.env.FUZZ_RUNS === undefined ? 1 : Number(process.env.FUZZ_RUNS);
  return {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(seed !== undefined && Number.isFinite(seed) ? { seed } : {}),
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    // A counterexample is shrunk for a while, not for ever: the suite stays bounded on failure too.
    interruptAfterTimeLimit: 60_000,
  };
}
