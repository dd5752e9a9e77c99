import { z } from 'zod';
import { DottedQuadShapeSource } from '../common/inet-address.ts';
import { LinkFaultRaw } from './link-faults.ts';
import { EchoKinds, Roles } from './model.ts';

/**
 * The topology DSL as written in YAML (the *raw* stage). The loader validates with these schemas,
 * then resolves defaults, addresses and texts into the frozen ResolvedTopology of model.ts. The
 * editor JSON Schema (topologies/topology.schema.json) is generated from this file, never by hand.
 */

const description = z.string().describe('Free text shown in tables, reports and diagrams.');

export const NamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const name = (what: string) =>
  z.string().regex(NamePattern, {
    error: (iss) =>
      `${what} name \`${String(iss.input)}\` must start with a letter or digit and use only letters, digits, '.', '_' and '-'`,
  });

const port = z
  .number()
  .int()
  .min(1)
  .max(65535)
  .describe('TCP port (topology terms; the local runtime may remap it).');

/** Config text: inline (a YAML block scalar) or a file relative to the topology file. */
export const TextSource = z
  .union([
    z.string().describe('The text itself, usually as a `|` block.'),
    z.strictObject({ file: z.string().describe('Path relative to the topology file.') }),
  ])
  .describe('Inline text, or { file: path relative to the topology file }.');

export const IdentdBehaviourPattern =
  /^(truthful|down|silent|garbage|none|lying:[^\s:]+|error:(NO-USER|HIDDEN-USER|UNKNOWN-ERROR))$/;

const identdBehaviour = z
  .string()
  .regex(IdentdBehaviourPattern, {
    error: (iss) =>
      `unknown identd behaviour \`${String(iss.input)}\`; expected truthful, down, silent, garbage, lying:<user>, error:<NO-USER|HIDDEN-USER|UNKNOWN-ERROR> or none`,
  })
  .describe(
    'truthful: answers the real owner; down: refused; silent: accepts, never answers; lying:<user>; error:<NO-USER|HIDDEN-USER|UNKNOWN-ERROR>; garbage: malformed answer; none: no identd.',
  );

export const IdentdSchema = z
  .union([
    identdBehaviour,
    z.boolean().describe('true: a truthful identd; false: none.'),
    z.strictObject({
      behaviour: identdBehaviour.optional().describe('Default truthful (when the identd: key is given).'),
      port: port.optional().describe('identd port in topology terms (default 113).'),
      description: description.optional(),
    }),
  ])
  .describe(
    'The fake identd of this host (RFC 1413). Without this key a host runs no identd (queries to it are refused), except an identd-only host, whose identd is truthful.',
  );

export const ServerFlags = ['-i', '-I', '--socks5', '--multihomed', '--single-homed'] as const;

export const ServerSchema = z
  .strictObject({
    description: description.optional(),
    user: z
      .string()
      .optional()
      .describe(
        'The host user that owns the server process (what identd reports for its sockets). Default root.',
      ),
    port: port.optional().describe('Listen port (default 1080).'),
    flags: z
      .array(z.enum(ServerFlags))
      .optional()
      .describe('-i lenient / -I strict identd default, --socks5, --multihomed / --single-homed.'),
    'sockd.conf': TextSource.optional().describe('Server access rules (spec c).'),
    'socks.conf': TextSource.optional().describe('rsockd routing rules (spec d).'),
    'sockd.route': TextSource.optional().describe('Interface selection for a multi-homed server (spec e).'),
    passwd: TextSource.optional().describe('RFC 1929 credentials (name:{plain}secret lines).'),
    'user-files': z
      .record(
        z.string().regex(/^\//, { error: 'user file paths are absolute, as written in the configs' }),
        TextSource,
      )
      .optional()
      .describe('User files referenced from the configs by absolute path, e.g. /etc/sockd/staff.users.'),
    'default-server': z
      .string()
      .optional()
      .describe('Default upstream for `sockd` lines without a list (d.6): host name or address.'),
    'upstream-port': port.optional().describe('Port of every upstream server (default 1080).'),
    'identd-port': port
      .optional()
      .describe("Port at which this server asks its clients' identd (default 113)."),
  })
  .describe('The rsockd/sockd process of a server host.');

export const EchoServiceSchema = z.union([
  port.describe('An echo service on this port.'),
  z.strictObject({
    port,
    kind: z.enum(EchoKinds).optional().describe('echo (default), discard, http-ok, banner.'),
    banner: z.string().optional().describe('Text a banner service sends (default: "<host> ready").'),
    description: description.optional(),
  }),
]);

/**
 * A name a host can resolve (split DNS): DNS-style labels (letters, digits, '-', '_') joined by
 * dots; a dotted IPv4 address is no name.
 */
export const DnsNamePattern = new RegExp(
  `^(?!${DottedQuadShapeSource}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*$`,
);

const nameTarget = z
  .string()
  .describe('A dotted IPv4 address, or a host of the topology (its address on the network, else its first).');

/** `name: address` entries: a zone of a network, or a host's own /etc/hosts. */
export const NameEntriesSchema = z
  .record(
    z.string().regex(DnsNamePattern, {
      error: (iss) =>
        `\`${String(iss.input)}\` is not a DNS-style name (labels of letters, digits, '-' and '_' joined by dots; not an address)`,
    }),
    z.union([nameTarget, z.array(nameTarget).min(1)]),
  )
  .describe('Name → address, host name, or a list of them (resolver order).');

const address = z
  .string()
  .describe(
    'An address inside the network subnet (IPv4 or IPv6, as the subnet), or `auto` for the next free one.',
  );

/** Every host field; in `defaults` all are optional and role is not allowed. */
const hostFields = {
  description: description.optional(),
  addresses: z
    .union([
      z.array(z.string()).describe('Network names; addresses are auto-assigned.'),
      z.record(z.string(), address).describe('network name → address (or auto).'),
    ])
    .optional(),
  users: z
    .record(z.string(), z.number().int().min(0).describe('uid'))
    .optional()
    .describe('Accounts on this host: name → uid. root (0) and nobody (65534) always exist.'),
  identd: IdentdSchema.optional(),
  server: ServerSchema.optional(),
  'socks.conf': TextSource.optional().describe(
    'Client-side socks.conf used by probes from this host (`probe --use-socks-conf`).',
  ),
  hosts: NameEntriesSchema.optional().describe(
    "This host's own name entries (its /etc/hosts): they win over the zones of its networks and over the topology's host names.",
  ),
  echo: z.array(EchoServiceSchema).optional().describe('Echo-style services: a port, or { port, kind }.'),
  stopped: z
    .boolean()
    .optional()
    .describe(
      'Bring the host up with its services stopped (a listed server that is down); startHost starts them.',
    ),
};

export const HostDefaultsSchema = z.strictObject(hostFields).describe('Fields every matching host inherits.');

export const HostSchema = z
  .strictObject({ role: z.enum(Roles).describe('client, rsockd, sockd, identd-only, echo.'), ...hostFields })
  .describe('A machine of the topology.');

export const NetworkSchema = z.strictObject({
  subnet: z.string().describe('CIDR block: IPv4 (10.2.0.0/24) or IPv6 (2001:db8:2::/64).'),
  description: description.optional(),
  names: NameEntriesSchema.optional().describe(
    "This network's zone: names every host on the network resolves (split DNS). A host's own `hosts:` entries win; two zones of one host may not disagree on a name.",
  ),
});

export const TopologySchema = z
  .strictObject({
    name: name('topology').optional().describe('Default: the file name without .yaml.'),
    description: description.optional(),
    networks: z.record(name('network'), NetworkSchema).describe('Network name → subnet.'),
    defaults: z
      .strictObject({
        hosts: HostDefaultsSchema.optional().describe('Defaults for every host.'),
        roles: z
          .strictObject(
            Object.fromEntries(Roles.map((r) => [r, HostDefaultsSchema.optional()])) as Record<
              (typeof Roles)[number],
              z.ZodOptional<typeof HostDefaultsSchema>
            >,
          )
          .optional()
          .describe('Defaults per role (win over defaults.hosts; the host itself wins over both).'),
        description: description.optional(),
      })
      .optional(),
    hosts: z.record(name('host'), HostSchema).describe('Host name → host.'),
    faults: z
      .array(LinkFaultRaw)
      .optional()
      .describe(
        'link faults present for the whole run (delay, loss, one-way drop, cut, reset on one interface)',
      ),
  })
  .describe('A sockslab topology: networks, hosts, their servers, identds and echo services.');

export type RawTopology = z.infer<typeof TopologySchema>;
export type RawHostDefaults = z.infer<typeof HostDefaultsSchema>;
export type RawServer = z.infer<typeof ServerSchema>;
export type RawTextSource = z.infer<typeof TextSource>;
export type RawIdentd = z.infer<typeof IdentdSchema>;
export type RawEchoService = z.infer<typeof EchoServiceSchema>;
