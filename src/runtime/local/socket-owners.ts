/**
 * Which virtual process owns which connection, per host: what a truthful identd on that host
 * answers. The virtual Net records every connection a host's process opens or accepts (in the
 * host's own topology terms) and forgets it when the socket closes.
 */
export interface OwnedConnection {
  readonly host: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly user: string;
}

export class SocketOwners {
  private readonly entries = new Map<string, OwnedConnection>();

  private static key(host: string, localPort: number, remoteAddress: string, remotePort: number): string {
    return `${host}|${localPort}|${remoteAddress}|${remotePort}`;
  }

  add(entry: OwnedConnection): () => void {
    const key = SocketOwners.key(entry.host, entry.localPort, entry.remoteAddress, entry.remotePort);
    this.entries.set(key, entry);
    return () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
  }

  /** RFC 1413 lookup on `host`: its port `localPort` connected to `remoteAddress:remotePort`. */
  owner(host: string, localPort: number, remoteAddress: string, remotePort: number): string | null {
    return this.entries.get(SocketOwners.key(host, localPort, remoteAddress, remotePort))?.user ?? null;
  }

  get size(): number {
    return this.entries.size;
  }
}
