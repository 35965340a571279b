// A proxy that refuses WebSocket upgrades, as some corporate proxies and firewalls do:
// plain HTTP requests to it are forwarded to the server on 127.0.0.1 (bodies streamed
// both ways, so the HTTP fallback's stream flows through), and every upgrade is answered
// with 403. Shared by test/server-fallback.test.mjs and e2e/browser.test.mjs.
import http from 'node:http';

/**
 * Starts the proxy in front of `127.0.0.1:upstream`, on `port` (any free one by default).
 * `upgrades` counts the refused upgrades; `reset()` cuts every connection through it
 * (with RST), as a network does.
 */
export async function startBlockingProxy(upstream, port = 0) {
  const sockets = new Set();
  let upgrades = 0;
  const server = http.createServer((request, response) => {
    const forwarded = http.request(
      { host: '127.0.0.1', port: upstream, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        response.flushHeaders();
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    // A client that goes away takes its upstream request with it: to the server, the end
    // of a stream is the end of its session.
    response.on('close', () => forwarded.destroy());
    request.pipe(forwarded);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request, socket) => {
    upgrades += 1;
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nConnection: close\r\n\r\nwebsockets not allowed');
  });
  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  const listening = server.address().port;
  return {
    port: listening,
    base: `http://127.0.0.1:${listening}`,
    url: `ws://127.0.0.1:${listening}/ws`,
    get upgrades() {
      return upgrades;
    },
    reset() {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(done);
      }),
  };
}
