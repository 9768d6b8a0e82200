import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Services } from '../../functions/runtime/services';
import { registerApprovalListeners } from '../../functions/slack/approval-listeners';

/**
 * The approval listeners alone behind Bolt's HTTP receiver on loopback, answering after the
 * listener has finished (as the Lambda's receiver does), so a test sees every effect of a click by
 * the time the request returns.
 */
export async function startApprovalApp(options: {
  services: Services;
  signingSecret: string;
  botToken: string;
  slackApiUrl: string;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret,
    endpoints: '/slack/events',
    processBeforeResponse: true,
    logLevel: LogLevel.ERROR,
  });
  const app = new App({
    authorize: async () => ({ botToken: options.botToken }),
    receiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: options.slackApiUrl },
  });
  registerApprovalListeners(app, options.services);
  const server = await receiver.start({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    stop: () => receiver.stop(),
  };
}
