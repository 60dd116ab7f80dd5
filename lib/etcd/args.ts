/**
 * The etcd command line, as a pure function of the member's settings, so the
 * single-member start of today and a later multi-member join share one shape.
 */

/** EtcdTlsFiles are the PEM files for one side (client or peer) of etcd's TLS. */
export interface EtcdTlsFiles {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  /** clientCertAuth requires callers to present a certificate signed by the CA (default true) */
  clientCertAuth?: boolean;
}

/** EtcdMemberConfig is everything the etcd argv is built from. */
export interface EtcdMemberConfig {
  name: string;
  /** dataDir is etcd's own --data-dir */
  dataDir: string;
  host: string;
  clientPort: number;
  peerPort: number;
  /** advertised URLs default to the listen URLs */
  advertiseClientUrl?: string;
  advertisePeerUrl?: string;
  /** initialCluster is `name=peerURL,...`; defaults to this member alone */
  initialCluster?: string;
  initialClusterState?: 'new' | 'existing';
  initialClusterToken?: string;
  clientTls?: EtcdTlsFiles;
  peerTls?: EtcdTlsFiles;
  /** autoCompactionRetention such as `1h` (periodic mode) */
  autoCompactionRetention?: string;
  extraArgs?: string[];
}

/** clientUrlOf gives the URL clients dial for `config`. */
export function clientUrlOf(config: EtcdMemberConfig): string {
  return config.advertiseClientUrl ?? `${config.clientTls ? 'https' : 'http'}://${config.host}:${config.clientPort}`;
}

/** peerUrlOf gives the URL other members dial for `config`. */
export function peerUrlOf(config: EtcdMemberConfig): string {
  return config.advertisePeerUrl ?? `${config.peerTls ? 'https' : 'http'}://${config.host}:${config.peerPort}`;
}

/** httpsUrlOf is `https://HOST:PORT`, with an IPv6 host in brackets. */
export function httpsUrlOf(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * initialClusterOf is the --initial-cluster string for a member `name` that
 * was just added as `id` (etcd names it only once it starts): every member's
 * `name=firstPeerURL`, in etcd's order.
 */
export function initialClusterOf(members: Array<{ id: string; name: string; peerUrls: string[] }>, id: string, name: string): string {
  return members.map((m) => `${m.id === id ? name : m.name}=${m.peerUrls[0] ?? ''}`).join(',');
}

/** etcdArgs builds the etcd 3.4 arguments (without the program) for `config`; never through a shell. */
export function etcdArgs(config: EtcdMemberConfig): string[] {
  const clientScheme = config.clientTls ? 'https' : 'http';
  const peerScheme = config.peerTls ? 'https' : 'http';
  const peerUrl = peerUrlOf(config);
  const args = [
    `--name=${config.name}`,
    `--data-dir=${config.dataDir}`,
    `--listen-client-urls=${clientScheme}://${config.host}:${config.clientPort}`,
    `--advertise-client-urls=${clientUrlOf(config)}`,
    `--listen-peer-urls=${peerScheme}://${config.host}:${config.peerPort}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${config.initialCluster ?? `${config.name}=${peerUrl}`}`,
    `--initial-cluster-state=${config.initialClusterState ?? 'new'}`,
    `--initial-cluster-token=${config.initialClusterToken ?? 'cloudlet'}`,
    '--logger=zap',
    '--log-outputs=stderr',
    // Pre-vote: a member coming back from a partition (with a higher term) does not depose a healthy leader;
    // without it the whole cluster loses its leader for a moment, keep-alives stall and every member fences.
    '--pre-vote=true',
  ];
  if (config.clientTls) {
    const t = config.clientTls;
    args.push(`--cert-file=${t.certFile}`, `--key-file=${t.keyFile}`, `--trusted-ca-file=${t.trustedCaFile}`);
    if (t.clientCertAuth ?? true) args.push('--client-cert-auth');
  }
  if (config.peerTls) {
    const t = config.peerTls;
    args.push(`--peer-cert-file=${t.certFile}`, `--peer-key-file=${t.keyFile}`, `--peer-trusted-ca-file=${t.trustedCaFile}`);
    if (t.clientCertAuth ?? true) args.push('--peer-client-cert-auth');
  }
  if (config.autoCompactionRetention) {
    args.push('--auto-compaction-mode=periodic', `--auto-compaction-retention=${config.autoCompactionRetention}`);
  }
  args.push(...(config.extraArgs ?? []));
  return args;
}
