/**
 * Free TCP ports on the loopback interface, found by binding port 0 on
 * 127.0.0.1 and closing. All n are held open together so they differ; another
 * process may still take one before the caller binds it.
 */
import { createServer, type Server } from 'node:net';

export async function freeLoopbackPorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => ok());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => (s.listening ? s.close(() => ok()) : ok()))));
  }
}
