// A proxy that refuses WebSocket upgrades, as some corporate proxies and firewalls do:
// plain HTTP requests to it are forwarded to the server on 127.0.0.1 (bodies streamed
// both ways, so the HTTP fallback's stream flows through), and every upgrade is answered
// with 403. Shared by test/server-fallback.test.mjs and e2e/browser.test.mjs.
//
// With `cutUpgradesAfterMs` it plays the other kind of proxy (and some mobile carriers):
// upgrades go through, and every upgraded connection is cut that long after its upgrade
// (both sockets destroyed, so the client sees no close frame: 1006).
import http from 'node:http';
import net from 'node:net';

/**
 * Starts the proxy in front of `127.0.0.1:upstream`, on `port` (any free one by default).
 * `upgrades` counts the upgrades asked for (refused, or with `cutUpgradesAfterMs` passed
 * and `cuts` counting those cut); `reset()` cuts every connection through it (with RST),
 * as a network does.
 */
export async function startBlockingProxy(upstream, port = 0, { cutUpgradesAfterMs = null } = {}) {
  const sockets = new Set();
  const timers = new Set();
  let upgrades = 0;
  let cuts = 0;
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
  server.on('upgrade', (request, socket, head) => {
    upgrades += 1;
    if (cutUpgradesAfterMs !== null) {
      passAndCut(request, socket, head);
      return;
    }
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nConnection: close\r\n\r\nwebsockets not allowed');
  });

  /** Forwards the upgrade as it came (the server's 101 flows back), and cuts both sides later. */
  function passAndCut(request, socket, head) {
    const upstreamSocket = net.connect(upstream, '127.0.0.1');
    sockets.add(upstreamSocket);
    const timer = setTimeout(() => {
      timers.delete(timer);
      cuts += 1;
      socket.destroy();
      upstreamSocket.destroy();
    }, cutUpgradesAfterMs);
    timers.add(timer);
    const lines = [`${request.method} ${request.url} HTTP/1.1`];
    for (let n = 0; n < request.rawHeaders.length; n += 2) lines.push(`${request.rawHeaders[n]}: ${request.rawHeaders[n + 1]}`);
    upstreamSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstreamSocket.write(head);
    socket.pipe(upstreamSocket).pipe(socket);
    // Either side going early takes the other with it (a proxy keeps no half a tunnel).
    for (const [one, other] of [[socket, upstreamSocket], [upstreamSocket, socket]]) {
      one.on('error', () => other.destroy());
      one.on('close', () => {
        sockets.delete(one);
        other.destroy();
        clearTimeout(timer);
        timers.delete(timer);
      });
    }
  }

  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  const listening = server.address().port;
  return {
    port: listening,
    base: `http://127.0.0.1:${listening}`,
    url: `ws://127.0.0.1:${listening}/ws`,
    get upgrades() {
      return upgrades;
    },
    get cuts() {
      return cuts;
    },
    reset() {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise((done) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(done);
      }),
  };
}
