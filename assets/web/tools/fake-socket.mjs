// A fake WebSocket for the SDK's unit tests: records what the client sends and lets a
// test play the server's side (open, deliver, close). Shared by client.test.mjs,
// matchmake.test.mjs and fallback.test.mjs.
export class FakeSocket {
  static made = [];
  sent = [];
  closedWith = null;
  binaryType = 'blob';
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.arguments = arguments.length;
    // (A subclass with its own `made`, such as a fake HTTP transport, keeps its own list.)
    this.constructor.made.push(this);
  }

  send(bytes) {
    this.sent.push(Uint8Array.from(bytes));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
  }

  // The server's side.
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  deliver(bytes) {
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }

  serverClose(code, reason = '') {
    this.onclose?.({ code, reason });
  }
}
