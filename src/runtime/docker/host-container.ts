import { GenericContainer } from 'testcontainers';
import type { DockerEngine } from './engine.ts';

/**
 * A GenericContainer that sits only on the networks it is given, each with a fixed address.
 * testcontainers has no API for fixed addresses or a second network, and `withNetworkAliases`
 * would leave the container on Docker's default bridge too; so the first network goes into the
 * create call and the others are connected after create, before start (API 1.41 allows one
 * endpoint at create).
 */
export interface StaticAttachment {
  readonly network: string;
  readonly address: string;
  readonly aliases: readonly string[];
}

export class HostContainer extends GenericContainer {
  private readonly attachments: StaticAttachment[] = [];

  constructor(
    image: string,
    private readonly engine: DockerEngine,
  ) {
    super(image);
  }

  withStaticNetwork(attachment: StaticAttachment): this {
    this.attachments.push(attachment);
    if (this.attachments.length === 1) {
      this.networkMode = attachment.network;
      this.createOpts.NetworkingConfig = {
        EndpointsConfig: {
          [attachment.network]: {
            IPAMConfig: { IPv4Address: attachment.address },
            Aliases: [...attachment.aliases],
          },
        },
      };
    }
    return this;
  }

  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...(this.hostConfig.Sysctls ?? {}), ...sysctls };
    return this;
  }

  /** Resolver options: a name nobody answers for fails in about a second, not ten. */
  withDnsOptions(options: readonly string[]): this {
    this.hostConfig.DnsOptions = [...options];
    return this;
  }

  protected override async containerCreated(containerId: string): Promise<void> {
    for (const a of this.attachments.slice(1)) {
      await this.engine.dockerode.getNetwork(a.network).connect({
        Container: containerId,
        EndpointConfig: { IPAMConfig: { IPv4Address: a.address }, Aliases: [...a.aliases] },
      });
    }
  }
}
