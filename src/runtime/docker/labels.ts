/**
 * Names and labels of everything the Docker runtime creates. Every container and network carries
 * `sockslab.lab=true` (what .ci/run and `sockslab reap` sweep) and `sockslab.run=<run id>` (what
 * `sockslab down` and a lab's own teardown remove), so nothing is found by name guessing.
 */
export const LabLabel = {
  /** Present on every container and network of every lab: the sweep key of .ci/run. */
  lab: 'sockslab.lab',
  /** The run id of one `up`: teardown removes exactly these. */
  run: 'sockslab.run',
  /** Topology name, for people reading `docker ps`. */
  topology: 'sockslab.topology',
  /** Host name (containers) or network name (networks) in topology terms. */
  member: 'sockslab.member',
  /** pid of the process that brought the lab up: `reap` removes runs whose owner is gone. */
  ownerPid: 'sockslab.owner-pid',
} as const;

export function labLabels(
  runId: string,
  topology: string,
  member: string,
  ownerPid: number,
): Record<string, string> {
  return {
    [LabLabel.lab]: 'true',
    [LabLabel.run]: runId,
    [LabLabel.topology]: topology,
    [LabLabel.member]: member,
    [LabLabel.ownerPid]: String(ownerPid),
  };
}

/** Docker object names allow [a-zA-Z0-9][a-zA-Z0-9_.-]; topology names are mapped onto that. */
export function dockerSafe(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return /^[a-zA-Z0-9]/.test(s) ? s : `x${s}`;
}

export function networkName(runId: string, network: string): string {
  return `sockslab-${dockerSafe(runId)}-${dockerSafe(network)}`;
}

export function containerName(runId: string, host: string): string {
  return `sockslab-${dockerSafe(runId)}-${dockerSafe(host)}`;
}
