/**
 * The delay mechanism for kernels without netem (these machines: `tc qdisc add … netem` →
 * "Specified qdisc kind is unknown", and no `fq` for BPF departure times either; only fifo,
 * tbf, htb and ingress). An iptables rule sends the faulty link's packets to an NFQUEUE; this
 * small program, run in the host's network namespace, reads the queue over netlink and gives
 * each packet its ACCEPT verdict `ms` after it arrived, in arrival order. The packet itself
 * never leaves the kernel (only its id is copied out), so every protocol and every TCP flag —
 * the SYN of a connect included — is delayed exactly like the data, which is what timers see.
 *
 * Why this and not the alternatives: tbf only delays what exceeds a rate (not a fixed time);
 * an AF_PACKET forwarder in a middle namespace needs one per link and rewires bridges; a TCP
 * shim answers the SYN itself and so hides connect delays. The queue needs only NFQUEUE
 * (CONFIG_NETFILTER_XT_TARGET_NFQUEUE) and python3, probed at lab start.
 *
 * The program is Python because Node cannot open netlink sockets; it is passed inline (`python3
 * -c`) with two numbers as arguments and reads nothing else. It prints `ready` once bound, and
 * exits when its stdin closes, so it never outlives the lab process that started it.
 */
export const DelayerSource = String.raw`
import collections, os, select, socket, struct, sys, time
queue, delay = int(sys.argv[1]), int(sys.argv[2]) / 1000.0
NFQ = 3 << 8  # NFNL_SUBSYS_QUEUE
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
sock.bind((0, 0))
seq = 0
def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, kind) + payload + b'\0' * (-n % 4)
def send(msg, attrs, flags):
    global seq
    seq += 1
    body = struct.pack('=BBH', 0, 0, socket.htons(queue)) + b''.join(attrs)
    sock.send(struct.pack('=IHHII', 16 + len(body), NFQ | msg, flags, seq, 0) + body)
def check_acks(expected):
    while expected:
        data = sock.recv(65536)
        off = 0
        while off + 16 <= len(data):
            ln, kind = struct.unpack_from('=IH', data, off)
            if kind == 2:
                err = struct.unpack_from('=i', data, off + 16)[0]
                if err:
                    sys.stderr.write('nfqueue %d: error %d\n' % (queue, -err))
                    sys.exit(3)
                expected -= 1
            off += (ln + 3) & ~3
send(2, [attr(1, struct.pack('=BBH', 1, 0, 0))], 5)        # CFG_CMD BIND, request + ack
send(2, [attr(2, struct.pack('>IB', 0, 1) + b'\0\0\0')], 5)  # CFG_PARAMS: copy metadata only
send(2, [attr(3, struct.pack('>I', 8192))], 5)              # CFG_QUEUE_MAXLEN
check_acks(3)
print('ready', flush=True)
held = collections.deque()
while True:
    wait = max(0.0, held[0][0] - time.monotonic()) if held else None
    readable, _, _ = select.select([sock, sys.stdin], [], [], wait)
    if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
        break
    if sock in readable:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b''
        off = 0
        while off + 16 <= len(data):
            ln, kind = struct.unpack_from('=IH', data, off)
            if ln < 16:
                break
            if kind == NFQ:
                a = off + 20
                while a + 4 <= off + ln:
                    alen, akind = struct.unpack_from('=HH', data, a)
                    if alen < 4:
                        break
                    if akind & 0x3fff == 1:  # NFQA_PACKET_HDR: packet id first
                        held.append((time.monotonic() + delay, struct.unpack_from('>I', data, a + 4)[0]))
                    a += (alen + 3) & ~3
            off += (ln + 3) & ~3
    now = time.monotonic()
    while held and held[0][0] <= now:
        send(1, [attr(2, struct.pack('>II', 1, held.popleft()[1]))], 1)  # VERDICT_HDR: ACCEPT
`;
