/**
 * Loopback ports for etcd: chosen by binding port 0, remembered in
 * `ports.json` so a restart of the daemon reuses them, and replaced only when
 * another process took them meanwhile.
 */
import { createServer } from 'node:net';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** EtcdPorts are the client and peer ports of one etcd member. */
export interface EtcdPorts {
  client: number;
  peer: number;
}

/** PORTS_FILE is the file name, inside the etcd directory, that keeps the chosen ports. */
export const PORTS_FILE = 'ports.json';

/** freePort asks the kernel for a free TCP port on `host` by binding port 0, then releases it. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/** isPortFree tells whether `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function readPorts(file: string): Promise<EtcdPorts | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { client, peer } = parsed as Record<string, unknown>;
    if (typeof client === 'number' && typeof peer === 'number' && client > 0 && peer > 0) return { client, peer };
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * choosePorts returns the ports remembered in `<etcdDir>/ports.json` when both
 * are still free on `host`, else two fresh free ports, which it writes back.
 */
export async function choosePorts(etcdDir: string, host = '127.0.0.1'): Promise<{ ports: EtcdPorts; reused: boolean }> {
  const file = join(etcdDir, PORTS_FILE);
  const saved = await readPorts(file);
  if (saved && saved.client !== saved.peer && (await isPortFree(saved.client, host)) && (await isPortFree(saved.peer, host))) {
    return { ports: saved, reused: true };
  }
  const client = await freePort(host);
  let peer = await freePort(host);
  while (peer === client) peer = await freePort(host);
  const ports = { client, peer };
  await writeFile(`${file}.tmp`, `${JSON.stringify(ports)}\n`);
  await rename(`${file}.tmp`, file);
  return { ports, reused: false };
}
