/**
 * Echo server for benchmarks (own process). Prints its port, then echoes until killed.
 * Mode `once` echoes the first chunk and closes: the server closing first leaves TIME_WAIT on the
 * listening side, so a long connection-rate run does not use up 127.0.0.1's ephemeral ports (which
 * makes Dante refuse to start: it test-binds its external address).
 */
import net from 'node:net';

const server = net.createServer({ noDelay: true }, (sock) => {
  sock.on('error', () => sock.destroy());
  if (process.argv[4] === 'once') sock.once('data', (chunk) => sock.end(chunk));
  else sock.pipe(sock);
});
server.maxConnections = 100_000;
server.listen(Number(process.argv[2] ?? 0), process.argv[3] ?? '127.0.0.9', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
