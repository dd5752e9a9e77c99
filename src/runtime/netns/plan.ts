import { InputError } from '../../common/errors.ts';
import type { ResolvedTopology } from '../../topology/model.ts';
import { bridgeName, hostInterface, hostNamespace, runPrefix, switchNamespace, switchPort } from './names.ts';

/**
 * The kernel objects of one lab, as data: a switch namespace with one bridge per network, and a
 * namespace per host whose `eth<k>` veths plug into those bridges. Pure: the `ip -batch` command
 * lists are derived here and run elsewhere (ip.ts). No host gets a default route; the only routes
 * are the connected ones of its own interfaces.
 */

export interface BridgePlan {
  readonly network: string;
  readonly bridge: string;
  readonly subnet: string;
}

export interface LinkPlan {
  readonly network: string;
  /** In the host namespace. */
  readonly ifname: string;
  /** The veth peer, in the switch namespace. */
  readonly port: string;
  readonly bridge: string;
  /** address/prefix length, e.g. 10.1.0.10/24 */
  readonly cidr: string;
}

export interface HostPlan {
  readonly host: string;
  readonly namespace: string;
  readonly links: readonly LinkPlan[];
}

export interface NetnsPlan {
  readonly prefix: string;
  readonly switchNamespace: string;
  readonly bridges: readonly BridgePlan[];
  readonly hosts: readonly HostPlan[];
}

function prefixLength(subnet: string, network: string): number {
  const bits = Number(subnet.split('/')[1]);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new InputError(
      'E_NETNS_SUBNET',
      `network ${network}: subnet ${subnet} has no usable prefix length`,
    );
  }
  return bits;
}

export function planNetns(topology: ResolvedTopology, runId: string, ownerPid: number): NetnsPlan {
  const prefix = runPrefix(runId, ownerPid);
  const bridges = topology.networks.map((n, i) => ({
    network: n.name,
    bridge: bridgeName(i),
    subnet: n.subnet,
  }));
  const byNetwork = new Map(bridges.map((b) => [b.network, b]));
  const hosts = topology.hosts.map((h, hi) => ({
    host: h.name,
    namespace: hostNamespace(prefix, hi, h.name),
    links: h.interfaces.map((iface, k) => {
      const bridge = byNetwork.get(iface.network);
      if (!bridge) {
        throw new InputError(
          'E_NETNS_NETWORK',
          `host ${h.name}: network ${iface.network} is not in the topology`,
        );
      }
      return {
        network: iface.network,
        ifname: hostInterface(k),
        port: switchPort(hi, k),
        bridge: bridge.bridge,
        cidr: `${iface.address}/${prefixLength(bridge.subnet, bridge.network)}`,
      };
    }),
  }));
  return { prefix, switchNamespace: switchNamespace(prefix), bridges, hosts };
}

/** Every namespace of the plan, the switch last (deleting it last keeps the order of creation reversed). */
export function namespacesOf(plan: NetnsPlan): string[] {
  return [...plan.hosts.map((h) => h.namespace), plan.switchNamespace];
}

/** `ip -batch -` in the root namespace: create every namespace. */
export function addNamespacesBatch(plan: NetnsPlan): string[] {
  return [plan.switchNamespace, ...plan.hosts.map((h) => h.namespace)].map((ns) => `netns add ${ns}`);
}

/** `ip -batch -` in the root namespace: delete namespaces (their veths go with them). */
export function deleteNamespacesBatch(namespaces: readonly string[]): string[] {
  return namespaces.map((ns) => `netns del ${ns}`);
}

/** `ip -n <switch> -batch -`, before the hosts: loopback and the bridges. */
export function switchBridgesBatch(plan: NetnsPlan): string[] {
  const out = ['link set lo up'];
  for (const b of plan.bridges) {
    // No STP and no forwarding delay: ports forward as soon as they are up.
    out.push(`link add ${b.bridge} type bridge stp_state 0 forward_delay 0`, `link set ${b.bridge} up`);
  }
  return out;
}

/** `ip -n <host> -batch -`: loopback, then each veth created here with its peer sent to the switch. */
export function hostBatch(plan: NetnsPlan, host: HostPlan): string[] {
  const out = ['link set lo up'];
  for (const l of host.links) {
    out.push(
      `link add ${l.ifname} type veth peer name ${l.port} netns ${plan.switchNamespace}`,
      `addr add ${l.cidr} dev ${l.ifname}`,
      `link set ${l.ifname} up`,
    );
  }
  return out;
}

/** `ip -n <switch> -batch -`, after the hosts: plug every port into its bridge and bring it up. */
export function switchPortsBatch(plan: NetnsPlan): string[] {
  const out: string[] = [];
  for (const h of plan.hosts) {
    for (const l of h.links) out.push(`link set ${l.port} master ${l.bridge}`, `link set ${l.port} up`);
  }
  return out;
}

export function bridgeOf(plan: NetnsPlan, network: string): BridgePlan {
  const b = plan.bridges.find((x) => x.network === network);
  if (!b) {
    const known = plan.bridges.map((x) => x.network).join(', ');
    throw new InputError('E_LAB_NETWORK', `network ${network} is not in the topology; networks: ${known}`);
  }
  return b;
}
