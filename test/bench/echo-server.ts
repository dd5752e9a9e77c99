/** Echo server for benchmarks (own process). Prints its port, then echoes until killed. */
import net from 'node:net';

const server = net.createServer({ noDelay: true }, (sock) => {
  sock.on('error', () => sock.destroy());
  sock.pipe(sock);
});
server.maxConnections = 100_000;
server.listen(Number(process.argv[2] ?? 0), process.argv[3] ?? '127.0.0.9', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
