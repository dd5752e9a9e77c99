/**
 * TCP service names (spec c.7): port fields may name a service; logs show the service name of a
 * port. Parsed from the `/etc/services` format, with a built-in copy of the standard Debian names
 * for hosts (and tests) without that file.
 */
import { readFileSync } from 'node:fs';

export interface ServiceTable {
  /** TCP port of a service name or alias (case-sensitive, as getservbyname). */
  portOf(name: string): number | undefined;
  /** Primary TCP service name of a port (the first one listed for it). */
  nameOf(port: number): string | undefined;
}

/** [primary name, port, ...aliases] — TCP entries of Debian's /etc/services (netbase). */
const DEBIAN_TCP = [
  ['tcpmux', 1],
  ['echo', 7],
  ['discard', 9, 'sink', 'null'],
  ['systat', 11, 'users'],
  ['daytime', 13],
  ['netstat', 15],
  ['qotd', 17, 'quote'],
  ['chargen', 19, 'ttytst', 'source'],
  ['ftp-data', 20],
  ['ftp', 21],
  ['ssh', 22],
  ['telnet', 23],
  ['smtp', 25, 'mail'],
  ['time', 37, 'timserver'],
  ['whois', 43, 'nicname'],
  ['tacacs', 49],
  ['domain', 53],
  ['gopher', 70],
  ['finger', 79],
  ['http', 80, 'www'],
  ['kerberos', 88, 'kerberos5', 'krb5', 'kerberos-sec'],
  ['iso-tsap', 102, 'tsap'],
  ['acr-nema', 104, 'dicom'],
  ['pop3', 110, 'pop-3'],
  ['sunrpc', 111, 'portmapper'],
  ['auth', 113, 'authentication', 'tap', 'ident'],
  ['nntp', 119, 'readnews', 'untp'],
  ['epmap', 135, 'loc-srv'],
  ['netbios-ns', 137],
  ['netbios-dgm', 138],
  ['netbios-ssn', 139],
  ['imap2', 143, 'imap'],
  ['snmp', 161],
  ['snmp-trap', 162, 'snmptrap'],
  ['bgp', 179],
  ['irc', 194],
  ['ldap', 389],
  ['https', 443],
  ['microsoft-ds', 445],
  ['submissions', 465, 'ssmtp', 'smtps', 'urd'],
  ['exec', 512],
  ['login', 513],
  ['shell', 514, 'cmd'],
  ['printer', 515, 'spooler'],
  ['uucp', 540],
  ['nntps', 563, 'snntp'],
  ['submission', 587],
  ['ldaps', 636],
  ['rsync', 873],
  ['ftps-data', 989],
  ['ftps', 990],
  ['telnets', 992],
  ['imaps', 993],
  ['pop3s', 995, 'pop-3s'],
  ['socks', 1080],
  ['openvpn', 1194],
  ['ms-sql-s', 1433],
  ['nfs', 2049],
  ['mysql', 3306],
  ['postgresql', 5432, 'postgres'],
  ['x11', 6000, 'x11-0'],
] as const satisfies readonly (readonly [string, number, ...string[]])[];

class MapServiceTable implements ServiceTable {
  readonly #ports = new Map<string, number>();
  readonly #names = new Map<number, string>();

  add(port: number, names: readonly string[]): void {
    for (const name of names) if (!this.#ports.has(name)) this.#ports.set(name, port);
    const primary = names[0];
    if (primary !== undefined && !this.#names.has(port)) this.#names.set(port, primary);
  }
  portOf(name: string): number | undefined {
    return this.#ports.get(name);
  }
  nameOf(port: number): string | undefined {
    return this.#names.get(port);
  }
}

function builtin(): ServiceTable {
  const table = new MapServiceTable();
  for (const [name, port, ...aliases] of DEBIAN_TCP) table.add(port, [name, ...aliases]);
  return table;
}

/** The standard Debian TCP names; tests use it so results do not depend on the host. */
export const builtinServices: ServiceTable = builtin();

/** Parses the `/etc/services` format: `name port/proto [aliases...] [# comment]`; keeps TCP only. */
export function parseServices(text: string): ServiceTable {
  const table = new MapServiceTable();
  for (const raw of text.split('\n')) {
    const fields = (raw.split('#')[0] ?? '').trim().split(/[ \t]+/);
    const [name, portProto, ...aliases] = fields;
    if (name === undefined || name === '' || portProto === undefined) continue;
    const match = /^([0-9]+)\/tcp$/i.exec(portProto);
    if (!match) continue;
    const port = Number(match[1]);
    if (port > 65535) continue;
    table.add(port, [name, ...aliases]);
  }
  return table;
}

/**
 * The host's service table; the built-in Debian table when the file cannot be read, so that a
 * container without netbase still understands `eq telnet`.
 */
export function loadServices(path = '/etc/services'): ServiceTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return builtinServices;
  }
  return parseServices(text);
}
