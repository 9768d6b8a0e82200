import type { KnownBlock, View } from '@slack/types';
import type { JustifiedGrantClass } from '../core/config';
import { MalformedRequestError } from '../core/errors';
import { describePrincipal } from '../core/grant-kinds';
import {
  describeJustificationReasons,
  JUSTIFICATION_MAX_LENGTH,
  JUSTIFICATION_MIN_LENGTH,
} from '../core/justification';
import { prototypeKeyPaths } from '../core/records';
import { escapeMrkdwn, isCampaignId, isGrantId, type ReviewGrant } from './blocks';

/**
 * The two modals a review message opens: "Keep…" asks for the written reason a grant needs before
 * it is kept, "Hand over…" asks to whom a grant (or the whole task) goes. What a modal carries back
 * in its submission (`private_metadata`) is the campaign and grant ids only: the submission is
 * checked against the table like a click (the submitter is the grant's decider, the decision is
 * written once), never trusted for more.
 */

export const JUSTIFICATION_CALLBACK_ID = 'review_justification';
export const DELEGATION_CALLBACK_ID = 'review_delegation';
/** The view_submission callback ids the review listeners take (functions/slack/request-check.ts routes them). */
export const REVIEW_VIEW_CALLBACK_IDS = [JUSTIFICATION_CALLBACK_ID, DELEGATION_CALLBACK_ID] as const;

/** Block and action ids of the modals' inputs: where a submission's values are, and where errors are shown. */
export const REASON_BLOCK = 'reason';
export const REASON_ACTION = 'text';
export const DELEGATE_TO_BLOCK = 'to';
export const DELEGATE_TO_ACTION = 'user';
export const DELEGATE_NOTE_BLOCK = 'note';
export const DELEGATE_NOTE_ACTION = 'text';
/** A delegation note is a line for the person receiving the grants, not an essay. */
export const DELEGATION_NOTE_MAX_LENGTH = 500;

/** What a modal's private_metadata names: one grant, or (Hand over all…) the whole task. */
export interface ModalSubject {
  campaignId: string;
  grantId?: string;
}

/** `{"c":…,"g":…}` or `{"c":…}`: the canonical form, compared byte for byte when read back. */
export function privateMetadataFor(subject: ModalSubject): string {
  return JSON.stringify(
    subject.grantId ? { c: subject.campaignId, g: subject.grantId } : { c: subject.campaignId },
  );
}

/** Reads private_metadata back; anything privateMetadataFor did not write is refused. */
export function parsePrivateMetadata(value: unknown, grantRequired: boolean): ModalSubject {
  if (typeof value !== 'string') throw new MalformedRequestError('the view has no private_metadata');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new MalformedRequestError('private_metadata is not JSON', { cause: error });
  }
  if (prototypeKeyPaths(parsed).length > 0) {
    throw new MalformedRequestError('private_metadata carries a prototype key');
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    c?: unknown;
    g?: unknown;
  };
  if (!isCampaignId(record.c)) throw new MalformedRequestError('private_metadata holds no valid campaign id');
  if (record.g !== undefined && !isGrantId(record.g)) {
    throw new MalformedRequestError('private_metadata holds no valid grant id');
  }
  if (grantRequired && record.g === undefined)
    throw new MalformedRequestError('private_metadata names no grant');
  const subject: ModalSubject = {
    campaignId: record.c,
    ...(record.g ? { grantId: record.g as string } : {}),
  };
  if (privateMetadataFor(subject) !== value) {
    throw new MalformedRequestError('private_metadata is not in canonical form');
  }
  return subject;
}

/** "Keep…": the grant, why a reason is needed, and a text field of the accepted length. */
export function justificationModal(
  campaignId: string,
  grant: ReviewGrant,
  classes: readonly JustifiedGrantClass[],
): View {
  return {
    type: 'modal',
    callback_id: JUSTIFICATION_CALLBACK_ID,
    private_metadata: privateMetadataFor({ campaignId, grantId: grant.grantId }),
    title: { type: 'plain_text', text: 'Keep with a reason' },
    submit: { type: 'plain_text', text: 'Keep' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      grantLine(grant),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: escapeMrkdwn(
              `Keeping this grant needs a written reason (${describeJustificationReasons(classes)}). It is kept with your decision in the audit evidence.`,
            ),
          },
        ],
      },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: 'Why does this access stay?' },
        element: {
          type: 'plain_text_input',
          action_id: REASON_ACTION,
          multiline: true,
          min_length: JUSTIFICATION_MIN_LENGTH,
          max_length: JUSTIFICATION_MAX_LENGTH,
          placeholder: { type: 'plain_text', text: 'e.g. on-call owner of the deploy pipeline until Q2' },
        },
      },
    ],
  };
}

/** "Hand over…": to whom, with an optional note. `grant` absent: the whole task (`count` open grants). */
export function delegationModal(
  campaignId: string,
  subject: { grant: ReviewGrant } | { count: number },
): View {
  const what: KnownBlock =
    'grant' in subject
      ? grantLine(subject.grant)
      : {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: `Hand over the ${subject.count === 1 ? 'grant' : `${subject.count} grants`} of your review that you have not decided yet.`,
          },
        };
  return {
    type: 'modal',
    callback_id: DELEGATION_CALLBACK_ID,
    private_metadata: privateMetadataFor({
      campaignId,
      ...('grant' in subject ? { grantId: subject.grant.grantId } : {}),
    }),
    title: { type: 'plain_text', text: 'Hand over' },
    submit: { type: 'plain_text', text: 'Hand over' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      what,
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'They decide it from then on, and the hand-over is recorded in the audit evidence. It cannot go to the person who holds the access, nor to you.',
          },
        ],
      },
      {
        type: 'input',
        block_id: DELEGATE_TO_BLOCK,
        label: { type: 'plain_text', text: 'Hand over to' },
        element: {
          type: 'users_select',
          action_id: DELEGATE_TO_ACTION,
          placeholder: { type: 'plain_text', text: 'Choose a person' },
        },
      },
      {
        type: 'input',
        block_id: DELEGATE_NOTE_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'Note for them' },
        element: {
          type: 'plain_text_input',
          action_id: DELEGATE_NOTE_ACTION,
          multiline: true,
          max_length: DELEGATION_NOTE_MAX_LENGTH,
        },
      },
    ],
  };
}

/**
 * What a click on Keep… or Hand over… opens first, before it reads anything: Slack's trigger_id
 * expires 3 s after the click, and the checks behind the real form read the table. The form then
 * replaces it (views.update), or a notice saying why there is none. No submit button, and its own
 * callback id: nothing can be submitted from it.
 */
export const LOADING_CALLBACK_ID = 'review_loading';

export function loadingModal(title: string): View {
  return {
    type: 'modal',
    callback_id: LOADING_CALLBACK_ID,
    title: { type: 'plain_text', text: title },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Checking this grant…' } }],
  };
}

/** Replaces the loading modal when the form cannot be offered: says why, and only closes. */
export function noticeModal(title: string, text: string): View {
  return {
    type: 'modal',
    callback_id: LOADING_CALLBACK_ID,
    title: { type: 'plain_text', text: title },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(text) } }],
  };
}

/** The value a submitted input holds, or undefined. */
export function submittedValue(
  view: unknown,
  blockId: string,
  actionId: string,
  field: 'value' | 'selected_user',
): string | undefined {
  const values = (view as { state?: { values?: unknown } } | undefined)?.state?.values;
  if (typeof values !== 'object' || values === null) return undefined;
  const block = (values as Record<string, unknown>)[blockId];
  if (typeof block !== 'object' || block === null || !Object.hasOwn(block, actionId)) return undefined;
  const element = (block as Record<string, unknown>)[actionId] as Record<string, unknown> | null;
  const value = element?.[field];
  return typeof value === 'string' ? value : undefined;
}

function grantLine(grant: ReviewGrant): KnownBlock {
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: escapeMrkdwn(`${describePrincipal(grant)} has ${grant.entitlement} on ${grant.resource}`).slice(
        0,
        3000,
      ),
    },
  };
}
