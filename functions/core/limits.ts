/**
 * Reviewers asked at once (the workflow's Map concurrency). Every reviewer must be asked when the
 * campaign starts: a queued iteration would only start when another reviewer finishes, possibly a
 * whole review window later. 40 is the most an inline Map runs concurrently on AWS; beyond it the
 * Map must become a Distributed Map (README, Limits).
 */
export const MAX_REVIEWERS_ASKED_AT_ONCE = 40;
