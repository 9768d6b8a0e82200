import { createServer, type Socket } from 'node:net';

/**
 * A loopback server that accepts every connection, reads what is sent and never answers: the
 * failure a timeout exists for. `requests` counts the request heads it has seen (an HTTP request
 * starts with a method and a path), so a test can tell how many attempts a client made.
 */
export interface HungServer {
  url: string;
  port: number;
  requests: () => number;
  close: () => Promise<void>;
}

export async function startHungServer(): Promise<HungServer> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      requests += (chunk.toString('latin1').match(/^[A-Z]+ \/\S* HTTP\/1\.1\r$/gm) ?? []).length;
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    requests: () => requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
