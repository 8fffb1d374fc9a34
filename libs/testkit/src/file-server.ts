/**
 * A static file server over real HTTP, for tests that download something (a toolchain archive
 * laid out like upstream's, a mirror of it): each path answers its bytes, anything else 404.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** Paths served, the file's or not, in order. */
  requests: string[];
  /** Path → bytes; change it while the server runs. */
  files: Map<string, Buffer>;
  close(): Promise<void>;
}

export async function startFileServer(
  files: Map<string, Buffer> = new Map(),
  host = '127.0.0.1',
): Promise<FileServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(path);
    const body = files.get(path);
    if (!body) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    files,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
