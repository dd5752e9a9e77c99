/**
 * The floor for rsockd in the benchmark (focus.ts peer `floor`): SOCKS 5 no-auth CONNECT to an
 * IPv4 address and a relay, on the same libuv TCP handles rsockd uses, with nothing else: no
 * policy, no identd, no logging, no timers, no error replies. What rsockd costs above this is the
 * price of its features. Usage: node floor-relay.mjs HOST PORT (prints "up" when listening).
 */
const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset } =
  process.binding('stream_wrap');

const UvEof = -4095;
const MethodNoAuth = Buffer.from([5, 0]);
const Granted = Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
const [host, port] = [process.argv[2] ?? '127.0.0.1', Number(process.argv[3] ?? 1080)];

function ignore() {}

function write(handle, data) {
  const req = new WriteWrap();
  req.handle = handle;
  req.oncomplete = ignore;
  req.buffer = data; // kept alive while a queued write still points into it
  return handle.writeBuffer(req, data);
}

function close(...handles) {
  for (const h of handles) {
    if (!h.gone) {
      h.gone = true;
      h.close();
    }
  }
}

/** Everything `src` reads goes to `dst`; EOF half-closes `dst`; both close once both sides ended. */
function pump(src, dst) {
  src.onread = (arrayBuffer) => {
    const n = streamBaseState[kReadBytesOrError];
    if (n > 0) {
      write(dst, Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], n));
    } else if (n === UvEof) {
      src.ended = true;
      if (dst.ended) return close(src, dst);
      const req = new ShutdownWrap();
      req.handle = dst;
      req.oncomplete = () => dst.ended && close(src, dst);
      dst.shutdown(req);
    } else if (n < 0) {
      close(src, dst);
    }
  };
  src.readStart();
}

const server = new TCP(constants.SERVER);
if (server.bind(host, port) !== 0 || server.listen(511) !== 0) {
  process.stderr.write(`cannot listen on ${host}:${port}\n`);
  process.exit(1);
}
server.onconnection = (status, client) => {
  if (status !== 0) return;
  client.setNoDelay(true);
  let greeted = false;
  client.onread = (arrayBuffer) => {
    const n = streamBaseState[kReadBytesOrError];
    if (n <= 0) return close(client);
    const b = Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], n);
    if (!greeted) {
      greeted = true;
      write(client, MethodNoAuth);
      return;
    }
    client.readStop();
    const upstream = new TCP(constants.SOCKET);
    const req = new TCPConnectWrap();
    const address = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
    const dstPort = (b[8] << 8) | b[9];
    req.oncomplete = (connectStatus) => {
      if (connectStatus < 0) return close(client, upstream);
      upstream.setNoDelay(true);
      write(client, Granted);
      pump(client, upstream);
      pump(upstream, client);
    };
    req.address = address;
    req.port = dstPort;
    if (upstream.connect(req, address, dstPort) !== 0) close(client, upstream);
  };
  client.readStart();
};
process.stdout.write('up\n');
