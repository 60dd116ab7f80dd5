import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, auditLogPath, buildAuditEvent, nowMicros, type AuditEvent } from '../../../../lib/audit/audit-log.js';
import type { Logger } from '../../../../lib/log/logger.js';

function event(i: number): AuditEvent {
  const receivedMicros = nowMicros();
  // fixed latency: every event of the same index width has the same length
  return buildAuditEvent({
    requestURI: `/apis/cloudlet.dev/v1alpha1/namespaces/a/instances/i${i}`,
    verb: 'create',
    user: { name: 'alice', groups: ['system:authenticated'] },
    sourceIPs: ['127.0.0.1'],
    code: 201,
    receivedMicros,
    completedMicros: receivedMicros + 1500,
    decision: 'allow',
  });
}

function recordingLogger(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = { warn: (msg: string) => warnings.push(msg) } as unknown as Logger;
  return { log, warnings };
}

async function lines(path: string): Promise<AuditEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEvent);
}

describe('AuditLog', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloudlet-audit-'));
    path = auditLogPath(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one JSON line per record', async () => {
    const audit = await AuditLog.open({ path, log: recordingLogger().log });
    for (let i = 0; i < 3; i++) audit.record(event(i));
    await audit.close();
    const got = await lines(path);
    expect(got).to.have.length(3);
    expect(got[2]).to.include({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', verb: 'create' });
    expect(got[2]?.requestURI).to.match(/i2$/);
    expect(audit.counts).to.deep.equal({ written: 3, dropped: 0 });
  });

  it('makes the directory 0700 and the files 0600, rotated ones included', async () => {
    const audit = await AuditLog.open({ path, log: recordingLogger().log, maxBytes: 600, maxFiles: 2 });
    for (let i = 0; i < 5; i++) audit.record(event(i));
    await audit.close();
    expect((await stat(join(dir, 'audit'))).mode & 0o777).to.equal(0o700);
    for (const f of await readdir(join(dir, 'audit'))) expect((await stat(join(dir, 'audit', f))).mode & 0o777, f).to.equal(0o600);
  });

  it('tightens the mode of an existing log file', async () => {
    await mkdir(join(dir, 'audit'), { mode: 0o755 });
    await writeFile(path, '', { mode: 0o644 });
    const audit = await AuditLog.open({ path, log: recordingLogger().log });
    await audit.close();
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    expect((await stat(join(dir, 'audit'))).mode & 0o777).to.equal(0o700);
  });

  it('rotates at maxBytes on line boundaries and keeps maxFiles rotated files', async () => {
    const lineBytes = Buffer.byteLength(`${JSON.stringify(event(10))}\n`);
    const audit = await AuditLog.open({ path, log: recordingLogger().log, maxBytes: lineBytes * 2, maxFiles: 2 });
    // i10 … i19 are the same length; two lines fit in a file
    for (let i = 10; i < 20; i++) audit.record(event(i));
    await audit.close();
    expect((await readdir(join(dir, 'audit'))).sort()).to.deep.equal(['audit.log', 'audit.log.1', 'audit.log.2']);
    const names = async (p: string) => (await lines(p)).map((e) => e.requestURI.split('/').pop());
    expect(await names(path)).to.deep.equal(['i18', 'i19']);
    expect(await names(`${path}.1`)).to.deep.equal(['i16', 'i17']);
    expect(await names(`${path}.2`)).to.deep.equal(['i14', 'i15']);
    for (const f of [path, `${path}.1`, `${path}.2`]) expect((await stat(f)).size).to.be.at.most(lineBytes * 2);
  });

  it('continues an existing log, counting its size toward maxBytes', async () => {
    const first = await AuditLog.open({ path, log: recordingLogger().log });
    first.record(event(10));
    await first.close();
    const lineBytes = (await stat(path)).size;
    const second = await AuditLog.open({ path, log: recordingLogger().log, maxBytes: lineBytes * 2, maxFiles: 1 });
    second.record(event(11));
    second.record(event(12));
    await second.close();
    expect((await lines(`${path}.1`)).length).to.equal(2);
    expect((await lines(path)).length).to.equal(1);
  });

  it('keeps the order of records made while earlier ones are being written', async () => {
    const audit = await AuditLog.open({ path, log: recordingLogger().log, maxBytes: 4000, maxFiles: 100 });
    const order: number[] = [];
    const orig = audit.record.bind(audit);
    audit.record = (e: AuditEvent) => {
      order.push(Number(e.requestURI.split('/i').pop()));
      orig(e);
    };
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 50; i++) {
        audit.record(event(w * 1000 + i));
        if (i % 7 === 0) await new Promise((r) => setImmediate(r));
      }
    });
    await Promise.all(writers);
    await audit.close();
    const files = (await readdir(join(dir, 'audit'))).filter((f) => f !== 'audit.log');
    const byAge = files.sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop()));
    const written: number[] = [];
    for (const f of [...byAge, 'audit.log'])
      for (const e of await lines(join(dir, 'audit', f))) written.push(Number(e.requestURI.split('/i').pop()));
    expect(written).to.have.length(200);
    expect(written).to.deep.equal(order);
    // each writer's records appear in its own order
    for (let w = 0; w < 4; w++) {
      const mine = written.filter((n) => Math.floor(n / 1000) === w);
      expect(mine).to.deep.equal([...mine].sort((a, b) => a - b));
    }
  });

  it('returns from record before the line is on disk', async () => {
    const audit = await AuditLog.open({ path, log: recordingLogger().log });
    expect(audit.record(event(1))).to.be.undefined;
    expect(audit.counts.written).to.equal(0);
    await audit.flush();
    expect(audit.counts.written).to.equal(1);
    expect(await lines(path)).to.have.length(1);
    await audit.close();
  });

  it('logs a failed write, drops its lines and writes later ones', async () => {
    const { log, warnings } = recordingLogger();
    const lineBytes = Buffer.byteLength(`${JSON.stringify(event(10))}\n`);
    const audit = await AuditLog.open({ path, log, maxBytes: lineBytes, maxFiles: 1 });
    audit.record(event(10));
    await audit.flush();
    // a directory where the oldest rotated file goes makes the rotation fail
    await mkdir(`${path}.1/blocker`, { recursive: true });
    expect(() => audit.record(event(11))).not.to.throw();
    await audit.flush();
    expect(warnings).to.deep.equal(['audit write failed']);
    expect(audit.counts).to.deep.equal({ written: 1, dropped: 1 });
    await rm(`${path}.1`, { recursive: true });
    audit.record(event(12));
    await audit.close();
    expect((await lines(path)).map((e) => e.requestURI.slice(-3))).to.deep.equal(['i12']);
    expect((await lines(`${path}.1`)).map((e) => e.requestURI.slice(-3))).to.deep.equal(['i10']);
  });

  it('drops records beyond maxQueued and after close, warning once', async () => {
    const { log, warnings } = recordingLogger();
    const audit = await AuditLog.open({ path, log, maxQueued: 2 });
    // the first record is taken by the writer at once; the next two fill the queue; two are dropped
    for (let i = 0; i < 5; i++) audit.record(event(i));
    await audit.close();
    audit.record(event(9));
    expect(audit.counts).to.deep.equal({ written: 3, dropped: 3 });
    expect(warnings.filter((w) => w === 'audit records dropped')).to.have.length(2);
  });
});
