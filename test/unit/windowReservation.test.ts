import * as assert from 'node:assert/strict';
import { gaugeTarget, gaugeView } from '../../src/monitor/gauge';
import {
  configHostNames,
  expandNodeList,
  remoteSshHost,
  windowJob,
  windowJobNote,
} from '../../src/reserve/windowReservation';

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

describe('the reservation a Remote-SSH window is on (for the gauge)', () => {
  const jobs = [
    { cluster: 'hpc', jobId: '4242', nodes: 'gpu[07-08]' },
    { cluster: 'my lab', jobId: '77', nodes: 'a100n3' },
  ];

  it("reads the window's SSH host from its authority, also Remote-SSH's hex JSON form", () => {
    assert.equal(remoteSshHost('ssh-remote+gpudev-hpc-4242'), 'gpudev-hpc-4242');
    assert.equal(
      remoteSshHost(`ssh-remote+${hex('{"hostName":"gpu07.cluster.example","user":"me"}')}`),
      'gpu07.cluster.example',
    );
    assert.equal(remoteSshHost('ssh-remote+deadbeef'), 'deadbeef', 'an alias that only looks like hex');
    assert.equal(remoteSshHost('wsl+Ubuntu'), undefined);
    assert.equal(remoteSshHost('attached-container+7b7d@ssh-remote+gpu07'), undefined, 'a container is not the node');
    assert.equal(remoteSshHost(undefined), undefined);
  });

  it("Attach's alias names its job; the node is the job's first", () => {
    assert.deepEqual(windowJob('gpudev-hpc-4242', jobs), {
      cluster: 'hpc',
      jobId: '4242',
      nodes: 'gpu[07-08]',
      by: 'alias',
      node: 'gpu07',
    });
    assert.equal(windowJob('gpudev-my-lab-77', jobs)?.jobId, '77', "the cluster's name as the alias writes it");
  });

  it("a node's own name (or its FQDN, user@node) finds the job running there, on any of its nodes", () => {
    assert.deepEqual(windowJob('gpu08.cluster.example', jobs), {
      cluster: 'hpc',
      jobId: '4242',
      nodes: 'gpu[07-08]',
      by: 'node',
      node: 'gpu08',
    });
    assert.equal(windowJob('me@A100N3', jobs)?.jobId, '77');
    assert.equal(windowJob('gpu09', jobs), undefined, 'not a node of a running job');
    assert.equal(windowJob(undefined, jobs), undefined);
  });

  it("an alias of our ssh config maps to its HostName, a job's node", () => {
    const config = configHostNames(
      [
        '# gpudev:begin gpudev-hpc-login',
        'Host gpudev-hpc-login',
        '  HostName login.hpc.example',
        'Host trainbox *.wild',
        '  HostName gpu08',
        '  ProxyJump gpudev-hpc-login',
        'Match host x',
        '  HostName ignored',
      ].join('\n'),
    );
    assert.deepEqual(
      [...config],
      [
        ['gpudev-hpc-login', 'login.hpc.example'],
        ['trainbox', 'gpu08'],
      ],
    );
    assert.deepEqual(windowJob('trainbox', jobs, config), {
      cluster: 'hpc',
      jobId: '4242',
      nodes: 'gpu[07-08]',
      by: 'config',
      node: 'gpu08',
    });
    assert.equal(windowJob('gpudev-hpc-login', jobs, config), undefined, 'the login node is no job');
  });

  it("with no job known (the extension on the node, no cluster configured there), Attach's alias still names the job", () => {
    assert.deepEqual(windowJob('gpudev-hpc-9001', []), { cluster: 'hpc', jobId: '9001', by: 'alias-only' });
    assert.equal(windowJob('gpudev-hpc-login', []), undefined);
    assert.equal(windowJob('lab', []), undefined);
  });

  it('expands Slurm node lists', () => {
    assert.deepEqual(expandNodeList('gpu[07-09,12],cpu1'), ['gpu07', 'gpu08', 'gpu09', 'gpu12', 'cpu1']);
    assert.deepEqual(expandNodeList('n[1-3]-ib'), ['n1-ib', 'n2-ib', 'n3-ib']);
    assert.deepEqual(expandNodeList('vm'), ['vm']);
    assert.equal(expandNodeList('n[1-100000]', 10).length, 10);
  });

  it('the gauge follows that host after a pick and a cosplay session, and its tooltip names the job', () => {
    const hosts = [
      { name: 'This machine', snapshot: undefined },
      { name: 'lab', snapshot: undefined },
      { name: 'hpc job 4242 (gpu07)', snapshot: undefined },
    ];
    const followed = 'hpc job 4242 (gpu07)';
    assert.deepEqual(gaugeTarget(hosts, undefined, undefined, followed), { host: followed, pinned: false });
    assert.deepEqual(gaugeTarget(hosts, { host: 'lab', gpu: '#0' }, undefined, followed), {
      host: 'lab',
      gpu: '#0',
      pinned: true,
    });
    assert.equal(gaugeTarget(hosts, undefined, { host: 'lab', gpu: '#1' }, followed)?.host, 'lab');
    assert.equal(gaugeTarget(hosts, undefined, undefined, 'gone')?.host, 'This machine', 'a host not (yet) listed');
    const note = windowJobNote({ cluster: 'hpc', jobId: '4242', node: 'gpu07', by: 'alias' });
    assert.equal(note, 'This Remote-SSH window is on reservation **job 4242** of hpc on gpu07');
    const view = gaugeView(
      {
        kind: 'gpus',
        host: followed,
        gpus: [
          {
            index: 0,
            uuid: null,
            name: 'NVIDIA L4',
            memoryUsedMiB: 1024,
            memoryTotalMiB: 23034,
            utilizationPct: 5,
            temperatureC: null,
            powerDrawW: null,
            powerLimitW: null,
            migMode: null,
          },
        ],
        problems: [],
        at: 0,
      },
      { warnPercent: 80, errorPercent: 95 },
      undefined,
      undefined,
      note,
    )!;
    assert.match(
      view.tooltip,
      /^\*\*hpc job 4242 \\\(gpu07\\\)\*\*: GPU 0 shown\n\nThis Remote-SSH window is on reservation \*\*job 4242\*\* of hpc on gpu07\n/,
    );
    assert.match(view.text, /· hpc job 4242 \(gpu07\)$/);
  });
});
