/**
 * Reviewers asked at once (the reviewer Distributed Map's MaxConcurrency). Every reviewer must be
 * asked when the campaign starts: a queued child would only start when another reviewer finishes,
 * possibly a whole review window later. 10,000 is the most child executions a Distributed Map runs
 * at once on AWS, so no campaign of 10,000 reviewers or fewer queues anyone.
 */
export const REVIEWERS_ASKED_AT_ONCE = 10_000;

/** The old name, still read by AssignReviewers' warning (which now fires only above 10,000). */
export const MAX_REVIEWERS_ASKED_AT_ONCE = REVIEWERS_ASKED_AT_ONCE;
