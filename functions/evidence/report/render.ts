import { bucketLabel, renderChart } from './chart';
import {
  escapeHtml as e,
  formatCount,
  formatTime,
  formatTimeSeconds,
  percent,
  plural,
  truncate,
} from './html';
import {
  type Capped,
  type DecisionLine,
  type ReportModel,
  type RevocationLine,
  ROW_LIMIT,
  type Tally,
} from './model';
import { REPORT_CSP, REPORT_CSS } from './style';

type Summary = Record<string, unknown>;

/**
 * The report's format. verify-evidence compares report.html with what this release renders, so a
 * change to the page's bytes is a new version: evidence rendered by another version says so in its
 * `generator` meta instead of looking tampered with.
 */
export const REPORT_VERSION = 2;
/**
 * Version 2 renders evidence format 2 (issue 10: scope and reason, cancel, reminders and
 * hand-overs, downgrades, the end-of-window policy's exceptions). A format 1 folder is rendered as
 * version 1 rendered it, byte for byte, so its report still verifies.
 */
const isFormat2 = (model: ReportModel) => model.format >= 2;

function num(summary: Summary, key: string): number {
  const value = summary[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function str(from: Summary | null | undefined, key: string): string {
  const value = from?.[key];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

function obj(from: Summary | null | undefined, key: string): Summary | null {
  const value = from?.[key];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Summary) : null;
}

/** A small label with a colour that says whether the value is fine, to check, or bad. */
function pill(text: string, tone: 'ok' | 'warn' | 'bad' | 'info' | 'none'): string {
  return `<span class="pill ${tone}">${e(text)}</span>`;
}

const VERIFICATION_LABEL: Record<string, [string, 'ok' | 'warn' | 'bad' | 'none']> = {
  confirmed_absent: ['confirmed absent', 'ok'],
  still_present: ['still present', 'bad'],
  not_verified: ['not verified', 'warn'],
};

function verificationPill(value: string): string {
  const [label, tone] = VERIFICATION_LABEL[value] ?? [value === '' ? 'not verified' : value, 'warn'];
  return pill(label, tone);
}

const STATUS_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'none'> = {
  removed: 'ok',
  already_absent: 'ok',
  remediation_required: 'warn',
  failed: 'bad',
  pending: 'warn',
  not_applied: 'warn',
  rejected: 'info',
  refused_protected: 'info',
  completed: 'ok',
  unresponsive: 'bad',
  pending_review: 'warn',
  requested: 'warn',
  keep: 'none',
  revoke: 'bad',
  downgrade: 'warn',
  cancelled: 'info',
};

function statusPill(value: string): string {
  return pill(value.replace(/_/g, ' ') || '–', STATUS_TONE[value] ?? 'none');
}

function more(capped: Capped<unknown>, file: string, what: string): string {
  return capped.more > 0
    ? `<p class="more">The first ${formatCount(capped.rows.length)} of ${plural(capped.total, what)}; ${formatCount(capped.more)} more in <code>${file}</code>.</p>`
    : '';
}

function table(head: Array<[string, string?]>, rows: string[]): string {
  const ths = head
    .map(([label, cls]) => `<th scope="col"${cls ? ` class="${cls}"` : ''}>${e(label)}</th>`)
    .join('');
  return `<table><thead><tr>${ths}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const td = (value: string, cls?: string) => `<td${cls ? ` class="${cls}"` : ''}>${e(value)}</td>`;
const tdHtml = (html: string, cls?: string) => `<td${cls ? ` class="${cls}"` : ''}>${html}</td>`;

/** The grant a row is about, as one cell: principal, entitlement on resource, via. */
function grantCell(row: { principal: string; resource: string; entitlement: string; via: string }): string {
  return `<td class="grant"><strong>${e(row.principal)}</strong><br>${e(row.entitlement)} on ${e(row.resource)}<br><span class="mono">${e(row.via)}</span></td>`;
}

function tallyList(tally: Tally, empty: string): string {
  const entries = tally.entries();
  if (entries.length === 0 && tally.other === 0) return `<p class="empty">${e(empty)}</p>`;
  const items = entries.map(([text, count]) => `<li>${e(text)}: <strong>${formatCount(count)}</strong></li>`);
  if (tally.other > 0) items.push(`<li>other reasons: <strong>${formatCount(tally.other)}</strong></li>`);
  return `<ul class="items">${items.join('')}</ul>`;
}

interface Verdict {
  tone: 'ok' | 'warn' | 'bad' | 'info';
  title: string;
  detail: string;
}

/** Attention items, counted once for the banner and the exceptions section. */
function attention(model: ReportModel): string[] {
  const { decisions, revocations } = model;
  const items: string[] = [];
  if (decisions.undecided > 0) items.push(`${plural(decisions.undecided, 'grant')} undecided`);
  if (revocations.remediationOpen > 0)
    items.push(`${plural(revocations.remediationOpen, 'remediation')} open`);
  if (revocations.stillPresent.total > 0)
    items.push(`${plural(revocations.stillPresent.total, 'revoked grant')} still present`);
  if (revocations.failed.total > 0) items.push(`${plural(revocations.failed.total, 'revocation')} failed`);
  const rejected = revocations.status.get('rejected') + revocations.status.get('refused_protected');
  if (rejected > 0) items.push(`${plural(rejected, 'revocation')} rejected or refused`);
  const unverified = revocations.verification.get('not_verified');
  if (unverified > rejected) items.push(`${plural(unverified - rejected, 'revocation')} not verified`);
  if (isFormat2(model) && decisions.policy.total > 0) {
    items.push(`${plural(decisions.policy.total, 'grant')} decided by the end-of-window policy`);
  }
  return items;
}

function verdict(model: ReportModel): Verdict {
  const { summary } = model;
  const status = str(summary, 'status');
  const failure = obj(summary, 'failure');
  if (summary.outcome === 'failed' || status === 'failed') {
    const where = str(failure, 'state') || 'unknown state';
    const reviewer = str(failure, 'reviewer');
    return {
      tone: 'bad',
      title: 'Campaign failed',
      detail: `in ${where}${reviewer ? ` (reviewer ${reviewer})` : ''} at ${formatTime(str(failure, 'at'))}: ${str(failure, 'error')}${str(failure, 'cause') ? ` – ${str(failure, 'cause')}` : ''}`,
    };
  }
  const cancelled = model.events.cancelled;
  if (isFormat2(model) && cancelled) {
    const by = str(cancelled.data, 'by');
    const name = str(cancelled.data, 'byName');
    const reason = str(cancelled.data, 'reason');
    return {
      tone: 'info',
      title: `Cancelled by ${name || by || 'an unknown user'}`,
      detail: `${name ? `Slack user ${by}, ` : ''}at ${formatTime(cancelled.at)}${reason ? `: ${reason}` : ''}. Nothing was revoked or downgraded after the cancel; ${formatCount(num(summary, 'decided'))} of ${formatCount(num(summary, 'reviewable'))} reviewable grants were decided before it.`,
    };
  }
  const items = attention(model);
  const decided = `${formatCount(num(summary, 'decided'))} of ${formatCount(num(summary, 'reviewable'))} reviewable grants decided`;
  if (status !== 'completed') {
    return {
      tone: 'info',
      title: `Campaign ${status.replace(/_/g, ' ') || 'in an unknown state'}`,
      detail: `${decided} so far`,
    };
  }
  if (items.length > 0) {
    return {
      tone: 'warn',
      title: `Completed: ${plural(items.length, 'item')} need${items.length === 1 ? 's' : ''} attention`,
      detail: `${decided}; ${items.join('; ')}`,
    };
  }
  return { tone: 'ok', title: 'Completed', detail: `${decided}; every revocation confirmed absent` };
}

function header(model: ReportModel): string {
  const { summary } = model;
  const v = verdict(model);
  return [
    '<header class="top"><div>',
    `<p class="eyebrow">Access review evidence</p><h1>${e(str(summary, 'campaignId'))}</h1></div>`,
    `<p class="meta">${e(str(summary, 'organization'))}<br>${e(formatTime(str(summary, 'startedAt')))} → ${e(formatTime(str(summary, 'completedAt')))}</p>`,
    '</header>',
    `<div class="banner ${v.tone}" role="status"><div><strong>${e(v.title)}</strong><p>${e(v.detail)}</p></div></div>`,
  ].join('');
}

function figures(model: ReportModel): string {
  const s = model.summary;
  // A figure that needs someone's attention when it is not zero is marked (the banner says it in words).
  const figure = (label: string, value: number, note = '', attention = false) =>
    `<div${attention && value > 0 ? ' class="attention"' : ''}><dt>${e(label)}</dt><dd>${formatCount(value)}${note ? ` <small>${e(note)}</small>` : ''}</dd></div>`;
  const revoked = num(s, 'revoked');
  return [
    '<dl class="figures">',
    figure('Grants in scope', num(s, 'grants'), `${formatCount(num(s, 'derived'))} derived`),
    figure('Reviewable', num(s, 'reviewable')),
    figure('Decided', num(s, 'decided'), percent(num(s, 'decided'), num(s, 'reviewable'))),
    figure('Undecided', num(s, 'undecided'), '', true),
    figure('Kept', num(s, 'kept')),
    figure('Revoked', revoked),
    figure('Confirmed absent', num(s, 'verifiedAbsent'), revoked > 0 ? `of ${formatCount(revoked)}` : ''),
    figure(
      'Remediations open',
      num(s, 'remediationsOpen'),
      `of ${formatCount(num(s, 'remediationsRequired'))}`,
      true,
    ),
    '</dl>',
  ].join('');
}

/**
 * What signatures.jsonl says about the chain head: how many signatures, and whether the last one
 * is over the head this folder ends with. Whether each signature holds is verify-evidence's
 * finding (it checks them against signing-key.pem); the report says what the files claim.
 */
function signatureFact(model: ReportModel): string {
  const { signatures, events, summary } = model;
  if (!signatures || signatures.count === 0) {
    return e('not signed: this evidence has no signatures.jsonl (a campaign from before signing)');
  }
  const last = signatures.last;
  const head = str(summary, 'chainHead');
  const coversHead = last !== null && last.hash === head && last.seq === events.count;
  const what = `${plural(signatures.count, 'signature')} in signatures.jsonl${signatures.keys > 1 ? `, ${signatures.keys} keys` : ''}`;
  if (!last) return `${pill('head not covered', 'bad')} ${e(what)}`;
  // The page cannot check a signature (no script, and a forger can re-sign with a key of their
  // own): it says what the files claim, in grey, and the key's fingerprint to compare or pin.
  return [
    `${coversHead ? pill('signature over the head present', 'none') : pill('head not covered', 'bad')} `,
    e(
      `${what}; the last over event ${last.seq ?? '?'}, ${last.algorithm || 'unknown algorithm'}, ${formatTime(last.signedAt)}`,
    ),
    `<br>key <code>${e(last.keyId || '?')}</code>, fingerprint <code>sha256:${e(last.keySha256 || '?')}</code>`,
  ].join('');
}

function campaignSection(model: ReportModel): string {
  const { summary, events } = model;
  const started = events.started;
  const snapshot = events.snapshot;
  const fact = (label: string, html: string) => `<dt>${e(label)}</dt><dd>${html}</dd>`;
  const connectors = Array.isArray(snapshot?.connectors)
    ? (snapshot.connectors as unknown[]).map(String).join(', ')
    : '';
  const window =
    started && typeof started.reviewWindowHours === 'number' ? `${started.reviewWindowHours} hours` : '';
  const head = str(summary, 'chainHead');
  const intact = summary.chainIntact === true;
  const guard = obj(summary, 'revocationGuard');
  const approval = obj(guard, 'approval');
  const campaign = [
    fact(
      'Started by',
      `${e(str(summary, 'requestedBy') || str(started, 'requestedBy') || '–')} (trigger: ${e(str(summary, 'trigger') || str(started, 'trigger') || '–')})`,
    ),
    fact('Started', e(formatTimeSeconds(str(summary, 'startedAt')))),
    fact('Finished', e(formatTimeSeconds(str(summary, 'completedAt')))),
    fact('Status', statusPill(str(summary, 'outcome') || str(summary, 'status'))),
    fact('Review window', e(window || '–')),
    fact('Scope', `${e(connectors || '–')}; ${plural(num(summary, 'grants'), 'grant')}`),
    ...(isFormat2(model) ? campaignFacts2(model, fact) : []),
    fact('Snapshot', e(formatTimeSeconds(str(snapshot, 'snapshotAt')))),
    fact(
      'Configuration',
      started && str(started, 'configSha256')
        ? `<code>sha256:${e(str(started, 'configSha256'))}</code>`
        : '–',
    ),
  ];
  const integrity = [
    fact(
      'Event chain',
      `${plural(events.count, 'event')} ${intact ? pill('recorded intact', 'none') : pill('recorded broken', 'bad')}`,
    ),
    fact('Chain head', head ? `<code>${e(head)}</code>` : '–'),
    fact('Signature', signatureFact(model)),
  ];
  if (guard) {
    const limits = obj(guard, 'limits');
    const counts = obj(guard, 'counts') ?? {};
    integrity.push(
      fact(
        'Revocation guard',
        `${formatCount(num(counts, 'allowed'))} allowed, ${formatCount(num(counts, 'held'))} held, ${formatCount(num(counts, 'forbidden'))} forbidden (limits: ${e(str(limits, 'maxRevokedPercent'))}% of reviewable grants, ${e(str(limits, 'maxPerPrincipal'))} per principal)`,
      ),
    );
    if (approval) {
      integrity.push(
        fact(
          'Held revocations',
          `${statusPill(str(approval, 'status'))} by ${e(str(approval, 'decidedBy') || '–')}, ${e(formatTime(str(approval, 'decidedAt')))}${str(approval, 'reason') ? ` – ${e(str(approval, 'reason'))}` : ''}`,
        ),
      );
    }
  }
  return [
    '<section aria-labelledby="campaign" class="columns">',
    `<div><h2 id="campaign">Campaign</h2><dl class="facts">${campaign.join('')}</dl></div>`,
    `<div><h2 id="integrity">Integrity</h2><p class="lead">What this folder’s files state. Whether they hold is what <code>access-review verify-evidence</code> says: run it on the folder, with <code>--key-fingerprint</code> set to the signing key’s known fingerprint.</p><dl class="facts">${integrity.join('')}</dl></div>`,
    '</section>',
  ].join('');
}

/** Format 2's campaign facts: what was asked for and why, and who cancelled it. */
function campaignFacts2(model: ReportModel, fact: (label: string, html: string) => string): string[] {
  const { summary } = model;
  const scope = Array.isArray(summary.scope) ? (summary.scope as unknown[]).map(String) : [];
  const facts = [
    fact(
      'Reviewed',
      scope.length > 0
        ? scope.map((term) => `<code>${e(term)}</code>`).join(' ')
        : 'everything (no scope given)',
    ),
    fact('Reason', e(str(summary, 'reason') || '–')),
  ];
  const cancelled = obj(summary, 'cancelled');
  if (cancelled) {
    facts.push(
      fact(
        'Cancelled by',
        `${e(str(cancelled, 'byName') || str(cancelled, 'by'))} <span class="mono">${e(str(cancelled, 'by'))}</span>, ${e(formatTimeSeconds(str(cancelled, 'at')))}${str(cancelled, 'phase') ? ` (during ${e(str(cancelled, 'phase').replace(/_/g, ' '))})` : ''}${str(cancelled, 'reason') ? ` – ${e(str(cancelled, 'reason'))}` : ''}`,
      ),
    );
  }
  return facts;
}

/** Reminders, hand-overs (escalation, delegation) and emails: how the review was chased. */
function followUpSection(model: ReportModel): string {
  const { summary, events } = model;
  const emails = obj(summary, 'emailsSent') ?? {};
  const emailText = Object.keys(emails)
    .sort()
    .map((purpose) => `${formatCount(num(emails, purpose))} ${purpose.replace(/_/g, ' ')}`)
    .join(', ');
  const reminded = events.reminders.entries().map(([reviewer, count]) => `${reviewer} ${formatCount(count)}`);
  const rows = events.handovers.rows.map(
    (h) =>
      `<tr>${td(h.grantId, 'mono')}${td(h.taskReviewer)}${td(`${h.from} → ${h.to}`)}${tdHtml(pill(h.by || '–', h.by === 'escalation' ? 'warn' : 'info'))}${td(truncate(h.note, 240, 'events.jsonl') || '–')}${td(formatTime(h.at), 'time')}</tr>`,
  );
  return [
    '<section aria-labelledby="follow-up"><h2 id="follow-up">Reminders, escalations and delegations</h2>',
    `<p class="lead">${plural(num(summary, 'remindersSent'), 'reminder')} sent${reminded.length > 0 ? ` (${e(reminded.join(', '))})` : ''}; ${plural(num(summary, 'escalated'), 'grant')} escalated, ${plural(num(summary, 'delegated'), 'grant')} delegated; emails: ${e(emailText || 'none')}.</p>`,
    rows.length > 0
      ? table([['Grant'], ['Task of'], ['Handed over'], ['By'], ['Note', 'wide'], ['At']], rows)
      : '<p class="empty">No grant was handed over.</p>',
    more(events.handovers, 'events.jsonl', 'hand-over'),
    '</section>',
  ].join('');
}

/** What was in scope, by grant kind and by risk flag (summary.json's tallies). */
function scopeSection(model: ReportModel): string {
  const tallyTable = (title: string, tally: Summary | null) => {
    const keys = Object.keys(tally ?? {}).sort();
    const rows = keys.map((key) => {
      const value = tally?.[key];
      return `<tr>${td(key.replace(/_/g, ' '))}${td(formatCount(typeof value === 'number' ? value : 0), 'num')}</tr>`;
    });
    return `<div><h3>${e(title)}</h3>${rows.length > 0 ? table([[title === 'Grants by kind' ? 'Kind' : 'Flag'], ['Grants', 'num']], rows) : '<p class="empty">None.</p>'}</div>`;
  };
  return [
    '<section aria-labelledby="scope"><h2 id="scope">Scope</h2>',
    `<div class="columns">${tallyTable('Grants by kind', obj(model.summary, 'grantsByKind'))}${tallyTable('Flagged grants', obj(model.summary, 'flagged'))}</div>`,
    '</section>',
  ].join('');
}

function failureSection(model: ReportModel): string {
  const failure = obj(model.summary, 'failure');
  if (!failure) return '';
  const fact = (label: string, value: string) => `<dt>${e(label)}</dt><dd>${e(value || '–')}</dd>`;
  return [
    '<section aria-labelledby="failure"><h2 id="failure">Failure</h2>',
    '<p class="lead">The campaign stopped before it finished. What it recorded up to then is below; nothing is invented for what it did not reach.</p>',
    '<dl class="facts">',
    fact('Failed state', str(failure, 'state')),
    fact('Reviewer', str(failure, 'reviewer')),
    fact('Error', str(failure, 'error')),
    fact('Cause', str(failure, 'cause')),
    fact('Classification', str(failure, 'classification')),
    fact('Status before', str(failure, 'statusBefore')),
    fact('Attempt', str(failure, 'attempt')),
    fact('At', formatTimeSeconds(str(failure, 'at'))),
    fact('Event', str(failure, 'eventSeq') ? `seq ${str(failure, 'eventSeq')}` : 'not in the chain'),
    fact('Revocations pending', str(failure, 'revocationsPending')),
    '</dl></section>',
  ].join('');
}

function chartSection(model: ReportModel): string {
  const { timeline } = model;
  const svg = renderChart(timeline, 'decisions-chart');
  const last = timeline.buckets[timeline.buckets.length - 1];
  const body = svg
    ? `<div class="chartbox">${svg}<ul class="legend"><li><span class="swatch keep"></span>keep (cumulative)</li><li><span class="swatch revoke"></span>revoke (cumulative)</li></ul></div>`
    : '<p class="empty">No decision was recorded.</p>';
  const first = timeline.buckets[0];
  const words =
    first && last
      ? `Per ${e(timeline.unit.name)}, from ${e(bucketLabel(first.start, timeline.unit))} to ${e(bucketLabel(last.start, timeline.unit))} UTC: ${formatCount(last.keepTotal)} keep and ${formatCount(last.revokeTotal)} revoke decisions, from the chain’s <code>decision_recorded</code> events.`
      : '';
  const unplaced =
    timeline.unplaced > 0
      ? ` ${plural(timeline.unplaced, 'decision event')} with no readable time or decision ${timeline.unplaced === 1 ? 'is' : 'are'} not drawn.`
      : '';
  return `<section aria-labelledby="timeline"><h2 id="timeline">Decisions over time</h2><p class="lead">${words}${e(unplaced)}</p>${body}</section>`;
}

function reviewersSection(model: ReportModel): string {
  const { reviewers } = model;
  const format2 = isFormat2(model);
  const shown = reviewers.rows.slice(0, ROW_LIMIT);
  const rows = shown.map((r) => {
    const grants = Number(r.grants);
    const decided = r.keep + r.revoke;
    if (format2) {
      const all = decided + r.downgrade;
      return `<tr><th scope="row">${e(r.reviewer)}<br><span class="mono">${e(r.slackUserId)}</span></th>${td(r.grants, 'num')}${td(formatCount(all), 'num')}${td(Number.isFinite(grants) ? percent(all, grants) : '–', 'num')}${td(formatCount(r.keep), 'num')}${td(formatCount(r.revoke), 'num')}${td(formatCount(r.downgrade), 'num')}${td(formatCount(model.events.reminders.get(r.reviewer)), 'num')}${tdHtml(statusPill(r.status))}${td(formatTime(r.requestedAt), 'time')}${td(formatTime(r.completedAt), 'time')}${td(formatTime(r.dueAt), 'time')}</tr>`;
    }
    return `<tr><th scope="row">${e(r.reviewer)}<br><span class="mono">${e(r.slackUserId)}</span></th>${td(r.grants, 'num')}${td(formatCount(decided), 'num')}${td(Number.isFinite(grants) ? percent(decided, grants) : '–', 'num')}${td(formatCount(r.keep), 'num')}${td(formatCount(r.revoke), 'num')}${tdHtml(statusPill(r.status))}${td(formatTime(r.requestedAt), 'time')}${td(formatTime(r.completedAt), 'time')}${td(formatTime(r.dueAt), 'time')}</tr>`;
  });
  const hidden = reviewers.total - shown.length;
  const unlisted =
    model.decisionsOfUnlistedReviewers > 0
      ? `<p class="more">${plural(model.decisionsOfUnlistedReviewers, 'decision')} name a reviewer <code>reviewers.csv</code> does not list.</p>`
      : '';
  return [
    '<section aria-labelledby="reviewers"><h2 id="reviewers">Completion by reviewer</h2>',
    `<p class="lead">${plural(num(model.summary, 'reviewersAsked'), 'reviewer')} asked, ${formatCount(num(model.summary, 'reviewersCompleted'))} completed, ${formatCount(num(model.summary, 'reviewersUnresponsive'))} unresponsive${format2 && num(model.summary, 'reviewersCancelled') > 0 ? `, ${formatCount(num(model.summary, 'reviewersCancelled'))} cancelled` : ''}.</p>`,
    rows.length > 0
      ? table(
          [
            ['Reviewer'],
            ['Grants', 'num'],
            ['Decided', 'num'],
            ['Done', 'num'],
            ['Keep', 'num'],
            ['Revoke', 'num'],
            ...(format2
              ? ([
                  ['Downgrade', 'num'],
                  ['Reminders', 'num'],
                ] as Array<[string, string]>)
              : []),
            ['Status'],
            ['Requested'],
            ['Completed'],
            ['Due'],
          ],
          rows,
        )
      : '<p class="empty">No reviewer was asked.</p>',
    hidden > 0
      ? `<p class="more">The first ${formatCount(ROW_LIMIT)} of ${plural(reviewers.total, 'reviewer')}; ${formatCount(hidden)} more in <code>reviewers.csv</code>.</p>`
      : '',
    unlisted,
    '</section>',
  ].join('');
}

function decisionRows(rows: DecisionLine[]): string[] {
  return rows.map(
    (d) =>
      `<tr>${grantCell(d)}${td(d.reviewer || '–')}${tdHtml(statusPill(d.decision))}${td(truncate(d.justification, 400, 'decisions.csv') || '–')}${td(formatTime(d.decidedAt), 'time')}</tr>`,
  );
}

/** Format 2: who decided when not the reviewer, the downgrade's target, a bulk keep, the policy. */
function decisionRows2(rows: DecisionLine[]): string[] {
  return rows.map((d) => {
    const decider =
      d.exception !== ''
        ? pill('end-of-window policy', 'warn')
        : e(
            d.decidedBy && d.decidedBy !== d.reviewer
              ? `${d.decidedBy} (for ${d.reviewer})`
              : d.reviewer || '–',
          );
    const decision = `${statusPill(d.decision)}${d.downgradeTo ? ` to ${e(d.downgradeTo)}` : ''}${d.bulk ? ` ${pill('keep all remaining', 'none')}` : ''}`;
    return `<tr>${grantCell(d)}${tdHtml(decider)}${tdHtml(decision)}${td(truncate(d.justification, 400, 'decisions.csv') || '–')}${td(formatTime(d.decidedAt), 'time')}</tr>`;
  });
}

/** An undecided grant: who was to decide (nobody, when no reviewer was eligible) and why it stayed open. */
function undecidedRows(rows: DecisionLine[]): string[] {
  return rows.map((d) => `<tr>${grantCell(d)}${td(d.reviewer || 'nobody')}${td(d.note || 'undecided')}</tr>`);
}

function decisionsSection(model: ReportModel): string {
  const { decisions } = model;
  return [
    '<section aria-labelledby="decisions"><h2 id="decisions">Decisions and their reasons</h2>',
    `<p class="lead">${plural(decisions.rows, 'reviewable grant')}: ${formatCount(decisions.keep)} kept, ${formatCount(decisions.revoke)} revoked, ${isFormat2(model) ? `${formatCount(decisions.downgrade)} downgraded, ` : ''}${formatCount(decisions.undecided)} undecided. Reasons given:</p>`,
    tallyList(decisions.reasons, 'No reviewer gave a reason.'),
    isFormat2(model)
      ? '<h3>Revoke and downgrade decisions, decisions with a reason, decisions taken for the reviewer</h3>'
      : '<h3>Revoke decisions and decisions with a reason</h3>',
    decisions.withReason.total > 0
      ? isFormat2(model)
        ? table(
            [['Grant', 'grant'], ['Decided by'], ['Decision'], ['Reason', 'wide'], ['Decided']],
            decisionRows2(decisions.withReason.rows),
          )
        : table(
            [['Grant', 'grant'], ['Reviewer'], ['Decision'], ['Reason', 'wide'], ['Decided']],
            decisionRows(decisions.withReason.rows),
          )
      : '<p class="empty">None.</p>',
    more(decisions.withReason, 'decisions.csv', 'such decision'),
    '</section>',
  ].join('');
}

function revocationRows(rows: RevocationLine[]): string[] {
  return rows.map((r) => {
    const still = r.stillPresentVia ? `<br>still via ${e(r.stillPresentVia)}` : '';
    const what = r.decision === 'downgrade' ? `downgrade to ${r.downgradeTo}: ` : '';
    return `<tr>${grantCell(r)}${td(r.decidedBy || '–')}${tdHtml(statusPill(r.status))}${td(truncate(`${what}${r.action || r.error}`, 240, 'revocations.csv') || '–')}${tdHtml(`${verificationPill(r.verification)}${still}`)}${td(formatTime(r.verifiedAt || r.appliedAt), 'time')}</tr>`;
  });
}

function revocationsSection(model: ReportModel): string {
  const { revocations } = model;
  const statuses = revocations.status
    .entries()
    .map(([status, count]) => `${formatCount(count)} ${status.replace(/_/g, ' ')}`)
    .join(', ');
  const verifications = revocations.verification
    .entries()
    .map(
      ([status, count]) =>
        `${formatCount(count)} ${(VERIFICATION_LABEL[status]?.[0] ?? status) || 'not verified'}`,
    )
    .join(', ');
  return [
    '<section aria-labelledby="revocations"><h2 id="revocations">Revocations and their verification</h2>',
    revocations.rows.total > 0
      ? `<p class="lead">${plural(revocations.rows.total, 'revoke decision')}: ${e(statuses)}. Read back from the source: ${e(verifications)}.${revocations.policyChanged > 0 ? ` ${plural(revocations.policyChanged, 'revocation')} changed a policy document (before and after in <code>policy-changes.jsonl</code>).` : ''}</p>`
      : '<p class="empty">No grant was decided revoke.</p>',
    revocations.rows.total > 0
      ? table(
          [
            ['Grant', 'grant'],
            ['Decided by'],
            ['Outcome'],
            ['Action', 'wide'],
            ['Verification'],
            ['Checked'],
          ],
          revocationRows(revocations.rows.rows),
        )
      : '',
    more(revocations.rows, 'revocations.csv', 'revocation'),
    '<h3 id="remediation">Remediation a person must do</h3>',
    revocations.remediation.total > 0
      ? `<p class="lead">No API removes these; the last check found ${formatCount(revocations.remediationOpen)} of ${formatCount(revocations.remediation.total)} still in place.</p>${table(
          [['Grant', 'grant'], ['What to do', 'wide'], ['Last check']],
          revocations.remediation.rows.map(
            (r) =>
              `<tr>${grantCell(r)}${td(truncate(r.remediation || r.action, 1200, 'revocations.csv'))}${tdHtml(`${r.verification === 'confirmed_absent' ? pill('done', 'ok') : pill('open', 'bad')} ${verificationPill(r.verification)}<br>${e(formatTime(r.verifiedAt))}`)}</tr>`,
          ),
        )}${more(revocations.remediation, 'revocations.csv', 'remediation')}`
      : '<p class="empty">None: every revocation was carried out by an API.</p>',
    '</section>',
  ].join('');
}

function exceptionsSection(model: ReportModel): string {
  const { decisions, revocations } = model;
  const parts = ['<section aria-labelledby="exceptions"><h2 id="exceptions">Exceptions</h2>'];
  const items = attention(model);
  parts.push(
    items.length > 0
      ? `<p class="lead">${e(items.join('; '))}.</p>`
      : '<p class="lead">None: every reviewable grant was decided and every revocation was confirmed absent.</p>',
  );
  parts.push('<h3>Undecided grants</h3>');
  if (decisions.undecidedRows.total > 0) {
    parts.push(
      tallyList(decisions.undecidedWhy, ''),
      table(
        [['Grant', 'grant'], ['Reviewer'], ['Why undecided', 'wide']],
        undecidedRows(decisions.undecidedRows.rows),
      ),
      more(decisions.undecidedRows, 'decisions.csv', 'undecided grant'),
    );
  } else {
    parts.push('<p class="empty">None.</p>');
  }
  if (isFormat2(model)) {
    parts.push('<h3>Decided by the end-of-window policy</h3>');
    if (decisions.policy.total > 0) {
      parts.push(
        '<p class="lead">Nobody reviewed these: the reviewer did not answer before the window closed, and the configured policy for the grant’s kind kept or revoked them.</p>',
        table(
          [['Grant', 'grant'], ['Reviewer'], ['Policy'], ['At']],
          decisions.policy.rows.map(
            (d) =>
              `<tr>${grantCell(d)}${td(d.reviewer || '–')}${tdHtml(statusPill(d.decision))}${td(formatTime(d.decidedAt), 'time')}</tr>`,
          ),
        ),
        more(decisions.policy, 'decisions.csv', 'policy decision'),
      );
    } else {
      parts.push('<p class="empty">None.</p>');
    }
  }
  parts.push('<h3>Revoked and still present</h3>');
  if (revocations.stillPresent.total > 0) {
    parts.push(
      '<p class="lead">The revocation removed the path it was decided on; reading the source again found the access through another.</p>',
      table(
        [['Grant', 'grant'], ['Still present via', 'wide'], ['Checked']],
        revocations.stillPresent.rows.map(
          (r) =>
            `<tr>${grantCell(r)}${td(r.stillPresentVia || '–')}${td(formatTime(r.verifiedAt), 'time')}</tr>`,
        ),
      ),
      more(revocations.stillPresent, 'revocations.csv', 'such revocation'),
    );
  } else {
    parts.push('<p class="empty">None.</p>');
  }
  parts.push('<h3>Failed revocations</h3>');
  if (revocations.failed.total > 0) {
    parts.push(
      table(
        [['Grant', 'grant'], ['Outcome'], ['Error', 'wide'], ['At']],
        revocations.failed.rows.map(
          (r) =>
            `<tr>${grantCell(r)}${tdHtml(statusPill(r.status))}${td(truncate(r.error || r.action, 600, 'revocations.csv') || '–')}${td(formatTime(r.appliedAt), 'time')}</tr>`,
        ),
      ),
      more(revocations.failed, 'revocations.csv', 'failed revocation'),
    );
  } else {
    parts.push('<p class="empty">None.</p>');
  }
  parts.push('<h3>Held or stopped by the revocation guard</h3>');
  if (revocations.guarded.total > 0) {
    const batch = model.events.batch;
    const answer = batch
      ? `The security team’s answer: ${e(batch.type.replace('revocation_batch_', ''))}${str(batch.data, 'approver') ? ` by ${e(str(batch.data, 'approver'))}` : ''} at ${e(formatTime(batch.at))}.`
      : 'No answer from the security team is recorded.';
    parts.push(
      `<p class="lead">${answer}</p>`,
      table(
        [['Grant', 'grant'], ['Guard'], ['Why', 'wide'], ['Outcome']],
        revocations.guarded.rows.map(
          (r) =>
            `<tr>${grantCell(r)}${tdHtml(pill(r.guard || '–', r.guard === 'forbidden' ? 'bad' : 'warn'))}${td(truncate(r.guardReasons, 400, 'revocations.csv') || '–')}${tdHtml(statusPill(r.status))}</tr>`,
        ),
      ),
      more(revocations.guarded, 'revocations.csv', 'guarded revocation'),
    );
  } else {
    parts.push('<p class="empty">None.</p>');
  }
  parts.push('</section>');
  return parts.join('');
}

const FOOTER =
  '<footer><p>Built from this folder’s <code>summary.json</code>, <code>reviewers.csv</code>, <code>decisions.csv</code>, <code>revocations.csv</code>, <code>events.jsonl</code> and <code>signatures.jsonl</code> alone, and listed in <code>manifest.json</code>. <code>access-review verify-evidence</code> renders it again from those files and compares the bytes; the CSV files hold every row this page shortens.</p></footer>';

/** The whole page. A pure function of the model: no clock, no randomness, no locale. */
export function renderPage(model: ReportModel): string {
  const campaignId = str(model.summary, 'campaignId');
  return [
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${e(REPORT_CSP)}">`,
    `<meta name="generator" content="access-review report ${isFormat2(model) ? REPORT_VERSION : 1}">`,
    '<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Access review ${e(campaignId)}</title>`,
    `<style>${REPORT_CSS}</style></head><body><main>`,
    header(model),
    figures(model),
    failureSection(model),
    campaignSection(model),
    chartSection(model),
    reviewersSection(model),
    // Only in format 2: a format 1 page keeps its bytes (no empty line where the section would be).
    ...(isFormat2(model) ? [followUpSection(model)] : []),
    decisionsSection(model),
    revocationsSection(model),
    exceptionsSection(model),
    scopeSection(model),
    FOOTER,
    '</main></body></html>\n',
  ].join('\n');
}
