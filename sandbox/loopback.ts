import type { Server } from 'node:net';

/**
 * Starts `server` on 127.0.0.1 (a random port unless one is given) and answers its base URL. A
 * failure to listen rejects instead of surfacing later as an unhandled 'error' event.
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('a loopback server has no TCP address');
  }
  return `http://127.0.0.1:${address.port}`;
}
