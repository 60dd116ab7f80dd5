import { expect } from 'chai';
import {
  cellStrings,
  logicalPortName,
  logicalSwitchName,
  parsePorts,
  portCommands,
  switchCommand,
} from '../../../../../controllers/networking/ovn/northbound.js';

const web = { name: 'cl-lan-default-web-0', mac: '0a:00:00:00:00:02', address: '10.45.0.2' };
const db = { name: 'cl-lan-default-db-0', mac: '0a:00:00:00:00:03', address: '10.45.0.3' };

describe('ovn northbound planning', () => {
  it('names the switch after the network and each port after its NIC', () => {
    expect(logicalSwitchName('lan')).to.equal('cl-lan');
    expect(logicalPortName({ network: 'lan', namespace: 'default', instance: 'web', nic: 1 })).to.equal('cl-lan-default-web-1');
  });

  it('reads single values and sets from ovsdb JSON cells', () => {
    expect(cellStrings('x')).to.deep.equal(['x']);
    expect(cellStrings(['set', []])).to.deep.equal([]);
    expect(cellStrings(['set', ['a', 'b']])).to.deep.equal(['a', 'b']);
    expect(cellStrings(['uuid', 'u'])).to.deep.equal([]);
  });

  it('parses ovn-nbctl --format=json port listings, empty output included', () => {
    const json = JSON.stringify({
      headings: ['name', 'addresses', 'port_security'],
      data: [['p1', '0a:00:00:00:00:02 10.45.0.2', ['set', []]]],
    });
    expect(parsePorts(json)).to.deep.equal([{ name: 'p1', addresses: ['0a:00:00:00:00:02 10.45.0.2'], portSecurity: [] }]);
    expect(parsePorts('')).to.deep.equal([]);
  });

  it('adds missing ports with addresses and port security, tagged with the network', () => {
    expect(portCommands({ network: 'lan', existing: [], planned: [web] })).to.deep.equal([
      [
        '--may-exist',
        'lsp-add',
        'cl-lan',
        web.name,
        '--',
        'lsp-set-addresses',
        web.name,
        '0a:00:00:00:00:02 10.45.0.2',
        '--',
        'lsp-set-port-security',
        web.name,
        '0a:00:00:00:00:02 10.45.0.2',
        '--',
        'set',
        'logical_switch_port',
        web.name,
        'external_ids:cloudlet-network=lan',
      ],
    ]);
  });

  it('changes nothing when the ports match the plan', () => {
    const existing = [web, db].map((p) => ({
      name: p.name,
      addresses: [`${p.mac} ${p.address}`],
      portSecurity: [`${p.mac} ${p.address}`],
    }));
    expect(portCommands({ network: 'lan', existing, planned: [db, web] })).to.deep.equal([]);
  });

  it('fixes a port whose port security is missing and deletes ports the plan dropped', () => {
    const existing = [
      { name: web.name, addresses: [`${web.mac} ${web.address}`], portSecurity: [] },
      { name: db.name, addresses: [`${db.mac} ${db.address}`], portSecurity: [`${db.mac} ${db.address}`] },
    ];
    const cmds = portCommands({ network: 'lan', existing, planned: [web] });
    expect(cmds.map((c) => c.slice(0, 3))).to.deep.equal([
      ['--may-exist', 'lsp-add', 'cl-lan'],
      ['--if-exists', 'lsp-del', db.name],
    ]);
  });

  it('creates the switch idempotently with its subnet recorded', () => {
    expect(switchCommand({ network: 'lan', subnet: '10.45.0.0/24' })).to.deep.equal([
      '--may-exist',
      'ls-add',
      'cl-lan',
      '--',
      'set',
      'logical_switch',
      'cl-lan',
      'external_ids:cloudlet-subnet=10.45.0.0/24',
      'external_ids:cloudlet-network=lan',
    ]);
  });
});
