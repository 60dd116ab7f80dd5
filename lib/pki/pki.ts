/**
 * The cluster's public key infrastructure: a cluster CA and certificates it
 * signs (the API server's today; member and etcd peer certificates when
 * members join). Keys are ECDSA P-256, made by the host's `openssl` through
 * lib/host (Node can make keys but not X.509 certificates).
 *
 *   <dir>/ca.crt, ca.key           the cluster CA (10 years)
 *   <dir>/<name>.crt, <name>.key   a certificate signed by it (about 2 years)
 */
import { readFile, writeFile, mkdtemp, rm, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { run } from '../host/exec.js';
import { ensureDir } from '../host/fs.js';

/** CertificatePaths locate one key pair on disk. */
export interface CertificatePaths {
  cert: string;
  key: string;
}

/** CertificateRequest describes a certificate to issue. */
export interface CertificateRequest {
  /** name of the files (`<name>.crt`, `<name>.key`) and the subject CN */
  name: string;
  /** subject alternative names: IP addresses and DNS names */
  sans: string[];
  /** what the certificate may be used for */
  usage: 'server' | 'client' | 'peer';
  /** subject: CN (default: `name`) and O values; the API reads CN as the user and O as its groups */
  subject?: { cn: string; o?: string[] };
}

/**
 * newKeyArgs are the `openssl req` arguments that make a new unencrypted
 * ECDSA P-256 key at `keyPath` and write the request (or, with -x509, the
 * certificate) to `outPath`: the one key type of the cluster.
 */
export function newKeyArgs(keyPath: string, outPath: string): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', outPath];
}

/** ensureCa creates the cluster CA in `dir` unless it exists; returns its paths. */
export async function ensureCa(dir: string): Promise<CertificatePaths> {
  await ensureDir(dir, 0o700);
  const paths = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  if (existsSync(paths.cert) && existsSync(paths.key)) return paths;
  await run(
    [
      'openssl',
      'req',
      '-x509',
      ...newKeyArgs(paths.key, paths.cert),
      '-days',
      '3650',
      '-subj',
      '/CN=cloudlet-cluster-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { timeoutMs: 30_000 },
  );
  await chmod(paths.key, 0o600);
  return paths;
}

/** sanExtension renders SANs as an openssl subjectAltName value. */
export function sanExtension(sans: string[]): string {
  return [...new Set(sans)].map((s) => (isIP(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
}

/**
 * ensureCertificate issues `req` from the CA in `dir` unless a certificate
 * with that name already exists and covers every requested SAN; returns its paths.
 */
export async function ensureCertificate(dir: string, req: CertificateRequest): Promise<CertificatePaths> {
  const ca = await ensureCa(dir);
  const paths = { cert: join(dir, `${req.name}.crt`), key: join(dir, `${req.name}.key`) };
  if (existsSync(paths.cert) && existsSync(paths.key) && (await coversSans(paths.cert, req.sans))) return paths;
  const work = await mkdtemp(join(tmpdir(), 'cloudlet-pki-'));
  try {
    const csr = join(work, 'req.csr');
    const ext = join(work, 'ext.cnf');
    await writeFile(ext, extensionsFor(req.usage, req.sans));
    const subject = subjectOf(req.subject?.cn ?? req.name, req.subject?.o ?? []);
    await run(['openssl', 'req', ...newKeyArgs(paths.key, csr), '-subj', subject], { timeoutMs: 30_000 });
    await chmod(paths.key, 0o600);
    await signCsrFile(ca, { csr, ext, out: paths.cert, days: 825 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return paths;
}

/**
 * signCsrFile signs the CSR at `csr` with the CA (extensions from `ext`, a
 * random 128-bit serial, `subject` replacing the CSR's own when given) into
 * `out`; openssl checks the CSR's self-signature first.
 */
async function signCsrFile(
  ca: CertificatePaths,
  o: { csr: string; ext: string; out: string; days: number; subject?: string },
): Promise<void> {
  const serial = `0x${randomBytes(16).toString('hex')}`;
  const subject = o.subject !== undefined ? ['-subj', o.subject] : [];
  await run(
    [
      'openssl',
      'x509',
      '-req',
      '-in',
      o.csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      serial,
      ...subject,
      '-days',
      String(o.days),
      '-extfile',
      o.ext,
      '-out',
      o.out,
    ],
    { timeoutMs: 30_000 },
  );
}

async function coversSans(certPath: string, sans: string[]): Promise<boolean> {
  const cert = new X509Certificate(await readFile(certPath));
  const have = (cert.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^IP Address:/, 'IP:'));
  return sans.every((s) => have.includes(isIP(s) ? `IP:${s}` : `DNS:${s}`));
}

/** caFingerprint is the SHA-256 fingerprint of a PEM certificate (hex, lowercase), as join tokens carry it. */
export function caFingerprint(pem: string | Buffer): string {
  const der = new X509Certificate(pem).raw;
  return createHash('sha256').update(der).digest('hex');
}

/** SignedCertificate is a certificate issued from a CSR. */
export interface SignedCertificate {
  pem: string;
  /** serial: lowercase hex without leading zeros (as the deny list keeps it) */
  serial: string;
  notAfter: string;
}

/** extensionsFor renders the X.509 extensions of a certificate for `usage` covering `sans`. */
function extensionsFor(usage: CertificateRequest['usage'], sans: string[]): string {
  const eku = usage === 'server' ? 'serverAuth' : usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
  const lines = [`extendedKeyUsage=${eku}`, 'keyUsage=critical,digitalSignature,keyEncipherment', 'basicConstraints=CA:FALSE'];
  if (sans.length) lines.push(`subjectAltName=${sanExtension(sans)}`);
  return `${lines.join('\n')}\n`;
}

/** subjectOf renders a subject for openssl: each O, then the CN. */
function subjectOf(cn: string, o: readonly string[]): string {
  return [...o.map((x) => `/O=${x}`), `/CN=${cn}`].join('');
}

/** CsrSigning is what the CA puts into a certificate issued from a CSR; the CSR's own subject and extensions are ignored. */
export interface CsrSigning {
  cn: string;
  o: string[];
  sans: string[];
  usage: CertificateRequest['usage'];
  days: number;
}

/**
 * signCsr issues a certificate from `csrPem` with the CA in `dir`. The
 * subject, SANs and usage are set here, so a request cannot claim a name, a
 * group or an address; openssl checks the CSR's self-signature (the
 * requester holds the key).
 */
export async function signCsr(dir: string, csrPem: string, o: CsrSigning): Promise<SignedCertificate> {
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  const work = await mkdtemp(join(tmpdir(), 'cloudlet-csr-'));
  try {
    const csr = join(work, 'req.csr');
    const ext = join(work, 'ext.cnf');
    const out = join(work, 'out.crt');
    await writeFile(csr, csrPem);
    await writeFile(ext, extensionsFor(o.usage, o.sans));
    await signCsrFile(ca, { csr, ext, out, days: o.days, subject: subjectOf(o.cn, o.o) });
    const pem = await readFile(out, 'utf8');
    const x = new X509Certificate(pem);
    return { pem, serial: x.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''), notAfter: new Date(x.validTo).toISOString() };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** signClientCsr issues a client certificate for `user` in `groups` from a CSR (see signCsr). */
export function signClientCsr(
  dir: string,
  csrPem: string,
  opts: { user: string; groups: string[]; days: number },
): Promise<SignedCertificate> {
  return signCsr(dir, csrPem, { cn: opts.user, o: opts.groups, sans: [], usage: 'client', days: opts.days });
}

/** makeKeyAndCsr writes a new ECDSA P-256 key to `keyPath` (0600) and returns a CSR for it (the subject is the CA's to set). */
export async function makeKeyAndCsr(keyPath: string, cn: string): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'cloudlet-key-'));
  try {
    const csrPath = join(work, 'req.csr');
    await run(['openssl', 'req', '-new', ...newKeyArgs(keyPath, csrPath), '-subj', `/CN=${cn}`], { timeoutMs: 30_000 });
    await chmod(keyPath, 0o600);
    return await readFile(csrPath, 'utf8');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
