import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of the server that the test can cut, like a network that drops: every
 * open connection is destroyed and new ones are refused until `restore()`. Browser emulation
 * of "offline" leaves open WebSockets alone, so it cannot show a reconnect.
 */
export interface NetworkCut {
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function networkCut(targetPort: number): Promise<NetworkCut> {
  const open = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
