import type { Services } from '../../runtime/services';
import type { ChainSignature } from '../../store/signatures';
import { vouchedHead } from './vouch';

/**
 * Signs the campaign's current chain head, once per seq: a head already signed (by a retry, or by a
 * reviewer's step running at the same time) is left as it is. Without a signer (the Slack endpoint,
 * tests that call steps directly) nothing is signed; the next workflow step's signature covers
 * what was appended meanwhile. The chain from the latest signature to the head is checked first
 * (vouch.ts): a chain the signer cannot vouch for is a ChainTamperedError, thrown from the step.
 */
export async function signChainHead(
  campaignId: string,
  services: Services,
): Promise<ChainSignature | undefined> {
  const { signer, store } = services;
  if (!signer) return undefined;
  const head = await vouchedHead(store.events.table, campaignId, signer);
  if (!head) return undefined;
  const { signature, created } = await store.signatures.sign(head, signer, services.now());
  if (created) {
    services.log.info('chain head signed', { campaignId, seq: head.seq, keyId: signer.keyId });
  }
  return signature;
}

function campaignIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('campaignId' in value)) return undefined;
  const { campaignId } = value;
  return typeof campaignId === 'string' && campaignId !== '' ? campaignId : undefined;
}

/**
 * A workflow step that signs the chain head after it returns: what the handler files export as
 * `run`, so the Lambda and the embedded host sign alike. The campaign is the input's (or, for
 * StartCampaign, the output's). A step that throws signs nothing here: what it appended is signed
 * by the failure recorder after its `campaign_failed`, or by the next step after a retry.
 */
export function signingChainHead<I, O>(
  step: (input: I, services: Services) => Promise<O>,
): (input: I, services: Services) => Promise<O> {
  return async (input, services) => {
    const output = await step(input, services);
    const campaignId = campaignIdOf(input) ?? campaignIdOf(output);
    if (campaignId) await signChainHead(campaignId, services);
    return output;
  };
}
