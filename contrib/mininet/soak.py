#!/usr/bin/python3
"""Soak: a ring of 8 Satellite switches with a link flapping all the time.

    /usr/bin/python3 contrib/mininet/soak.py [--minutes 30] [--seed N]
        [--aging S]
    (scripts/soak.sh runs it, and is what to call)

A ring of 8 (`ring,8` of contrib/mininet/satellite.py: s1..s8, h1..h8)
with, for the whole run, three probe streams (satellite-probe, 1,000
sequence-numbered datagrams/s each: h1 -> h5 and h5 -> h1 across the ring,
h3 -> h7) and one random inter-switch link at a time going down or coming
back every 0.5-2 s. At the end, with every link up again:

- 0 duplicated probes on every stream (a loop duplicates frames);
- each daemon's mbufs in use (pool size minus `mempool_available` of
  `satctl show stats`, the `satellite_mempool_available_mbufs` gauge)
  back to the baseline, within a few frames in flight;
- each daemon's resident memory (VmRSS) grown by at most 1 MB since the
  baseline, taken after a warm-up (the first minute, or a fifth of a
  shorter run: the pool's mbufs and the FDB's pages are touched for the
  first time while traffic and floods cycle through them, which is
  growth, not a leak);
- no ERROR line in any daemon's log.

h7 only receives (static ARP, one-way datagrams), so once its switch has
aged its MAC, h3 -> h7 is unknown unicast, flooded on the spanning tree:
`--aging S` sets every switch's `[fdb] aging_time` to reach that in
seconds rather than minutes. Each flap is recorded with its time since the
probes started; every gap of 50 ms or more and every duplicated datagram
is printed with the flaps of the 2 s before it, and each port's non-zero
drop counters at the end.

Prints the figures and one `SOAK-RESULT {json}` line; exits 1 on any
failure. Every satellited is stopped by its PID at the end, failure or not.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from functools import partial  # noqa: E402

from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402

from satellite import RingTopo, SatelliteSwitch, satellite_bin  # noqa: E402

N = 8
RATE = 1000
STREAMS = [(1, 5, 5001), (5, 1, 5002), (3, 7, 5003)]
MBUFS = 8191            # [dataplane] mbufs default: the pool size
IN_FLIGHT_SLACK = 16    # mbufs a daemon may hold at the instant of reading
RSS_GROWTH_MAX_KB = 1024


def say(text=''):
    print(text, flush=True)


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


class Soak:
    def __init__(self, minutes, seed, out, aging=None):
        self.minutes = minutes
        self.rng = random.Random(seed)
        self.out = out
        self.aging = aging
        self.net = None
        self.probes = []
        self.probe_t0 = None
        # (seconds since the probes started, 'down'|'up', link end): read
        # beside the probes' gaps, it says which flap a loss followed.
        self.flaps = []
        self.result = {'minutes': minutes, 'seed': seed, 'aging': aging,
                       'failures': [], 'stopped': []}

    def sw(self, k):
        return self.net['s%d' % k]

    def ring_links(self):
        """(switch, interface) of one end of each inter-switch link."""
        ends = []
        for link in self.net.links:
            a, b = link.intf1, link.intf2
            if isinstance(a.node, SatelliteSwitch) and \
                    isinstance(b.node, SatelliteSwitch):
                ends.append((a.node, a.name))
        return ends

    def in_use(self, s):
        """Mbufs in use: the pool minus what is free (lowest of 5 reads,
        100 ms apart, so a frame in flight at one instant does not count)."""
        reads = []
        for _ in range(5):
            reads.append(MBUFS - s.satctl_json('show', 'stats')
                         ['mempool_available'])
            time.sleep(0.1)
        return min(reads)

    def snapshot(self):
        return {s.name: {'in_use': self.in_use(s), 'rss_kb': s.rss_kb()}
                for s in self.net.switches}

    def settled(self, timeout=60):
        """Waits until every switch names one root and has settled, with
        one blocked port in the ring."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                stps = [s.satctl_json('show', 'stp') for s in self.net.switches]
                roots = {x['root_id'] for x in stps}
                blocked = sum(1 for x in stps for p in x['ports']
                              if p.get('role') in ('alternate', 'backup'))
                if len(roots) == 1 and blocked == 1 and \
                        all(s.connected() for s in self.net.switches):
                    return time.time() - t0
            except (RuntimeError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise RuntimeError('ring not settled within %d s' % timeout)

    def start_probes(self, seconds):
        probe = satellite_bin('satellite-probe')
        for a, b, port in STREAMS:
            dst = self.net['h%d' % b]
            rx_log = open(os.path.join(self.out, 'probe-h%d-h%d-recv.json'
                                       % (a, b)), 'w')
            rx = dst.popen([probe, 'recv', '--bind', '%s:%d' % (dst.IP(), port),
                            '--rate', str(RATE), '--idle', '30',
                            '--first-wait', '30'],
                           stdout=rx_log, stderr=subprocess.STDOUT)
            rx_log.close()
            self.probes.append({'flow': 'h%d->h%d' % (a, b), 'rx': rx,
                                'log': rx_log.name})
        time.sleep(1)  # the receivers are bound
        self.probe_t0 = time.time()
        for p, (a, b, port) in zip(self.probes, STREAMS):
            dst = self.net['h%d' % b]
            p['tx'] = self.net['h%d' % a].popen(
                [probe, 'send', '--to', '%s:%d' % (dst.IP(), port),
                 '--rate', str(RATE), '--duration', str(seconds)],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def finish_probes(self):
        reports = {}
        for p in self.probes:
            for proc in (p['tx'], p['rx']):
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            with open(p['log']) as f:
                lines = [l for l in f.read().splitlines() if l.startswith('{')]
            reports[p['flow']] = json.loads(lines[-1]) if lines else None
        self.probes = []
        return reports

    def flap(self, seconds):
        """One link at a time down or back every 0.5-2 s; returns how many
        times a link went down."""
        links = self.ring_links()
        down = None
        flaps = 0
        end = time.time() + seconds
        while time.time() < end:
            time.sleep(self.rng.uniform(0.5, 2.0))
            if down:
                node, intf = down
                self.note_flap('up', intf)
                node.cmd('ip link set %s up' % intf)
                down = None
            else:
                down = self.rng.choice(links)
                self.note_flap('down', down[1])
                down[0].cmd('ip link set %s down' % down[1])
                flaps += 1
        if down:
            self.note_flap('up', down[1])
            down[0].cmd('ip link set %s up' % down[1])
        return flaps

    def note_flap(self, what, intf):
        self.flaps.append((round(time.time() - self.probe_t0, 3), what, intf))

    def long_gaps(self, reports, at_least_ms=50):
        """Each gap of at least `at_least_ms`, with the flaps of the 2 s
        before its first lost datagram (its sequence number / RATE is its
        send time since the probes started, to within the senders' start)."""
        out = []
        for flow, r in sorted(reports.items()):
            for g in (r or {}).get('gaps', []):
                if g['ms'] < at_least_ms:
                    continue
                t = g['start'] / RATE
                out.append({'flow': flow, 'at_s': round(t, 3), 'ms': g['ms'],
                            'flaps_before': self.flaps_before(t)})
            for seq in (r or {}).get('duplicate_seqs', []):
                t = seq / RATE
                out.append({'flow': flow, 'at_s': round(t, 3),
                            'duplicated': seq,
                            'flaps_before': self.flaps_before(t)})
        return out

    def flaps_before(self, t):
        """The flaps of the 2 s before time `t` (since the probes started)."""
        return [f for f in self.flaps if t - 2.0 <= f[0] <= t + 0.01]

    def drops(self):
        """Each switch's drop counters that are not zero, by port."""
        out = {}
        for s in self.net.switches:
            for p in s.satctl_json('show', 'stats')['ports']:
                nz = {k: v for k, v in p['drops'].items() if v}
                if nz:
                    out[p['name']] = nz
        return out

    def run(self):
        total = self.minutes * 60.0
        warm = min(60.0, total / 5)
        t0 = time.time()
        try:
            switch = SatelliteSwitch
            if self.aging:
                switch = partial(SatelliteSwitch,
                                 extra='[fdb]\naging_time = %d' % self.aging)
            self.net = Mininet(topo=RingTopo(N), switch=switch,
                               controller=None, autoSetMacs=True)
            self.net.start()
            self.net.staticArp()  # probes from the first datagram
            say('*** ring of %d settled in %.1f s; pids %s' % (
                N, self.settled(), ' '.join(
                    str(s.daemon_pid()) for s in self.net.switches)))
            start = self.snapshot()
            self.result['start'] = start
            say('*** %d probe streams at %d/s for %.0f s; a link flapping '
                'every 0.5-2 s' % (len(STREAMS), RATE, total))
            self.start_probes(total)
            flaps = self.flap(warm)
            base = self.snapshot()
            self.result['baseline'] = base
            self.result['baseline_after_s'] = round(warm, 1)
            say('*** baseline after %.0f s warm-up (load %s): %s' % (
                warm, loadavg(), json.dumps(base, sort_keys=True)))
            loads = []
            while time.time() - t0 < total - 5:
                flaps += self.flap(min(60.0, total - 5 - (time.time() - t0)))
                loads.append(loadavg())
                say('  %4.0f s: %d flaps, load %s' % (time.time() - t0, flaps,
                                                      loads[-1]))
            self.result['flaps'] = flaps
            self.result['load'] = loads
            reports = self.finish_probes()
            self.result['probes'] = reports
            self.result['flap_times'] = self.flaps
            self.result['long_gaps'] = self.long_gaps(reports)
            for g in self.result['long_gaps']:
                if 'duplicated' in g:
                    say('*** %s: datagram %d, sent at %.3f s, arrived twice;'
                        ' flaps before: %s' % (g['flow'], g['duplicated'],
                                               g['at_s'], g['flaps_before']))
                    continue
                say('*** %s lost %.0f ms from %.3f s; flaps before: %s' % (
                    g['flow'], g['ms'], g['at_s'], g['flaps_before']))
            self.result['drops'] = self.drops()
            say('*** drops: %s' % json.dumps(self.result['drops'],
                                              sort_keys=True))
            self.settled()
            time.sleep(2)
            end = self.snapshot()
            self.result['end'] = end
            self.check(base, end, reports)
        except Exception as e:  # recorded, then everything is stopped
            self.result['failures'].append('%s: %s' % (type(e).__name__, e))
        finally:
            for p in self.probes:
                for k in ('tx', 'rx'):
                    if k in p and p[k].poll() is None:
                        p[k].kill()
                        p[k].wait()
            self.stop()
        self.result['seconds'] = round(time.time() - t0, 1)
        return self.result

    def check(self, base, end, reports):
        fail = self.result['failures']
        for flow, r in reports.items():
            if r is None:
                fail.append('%s: no probe report' % flow)
                continue
            say('*** probe %s: sent %d, lost %d, duplicated %d, reordered %d, '
                'longest outage %.1f ms in %d gaps' % (
                    flow, r['sent'], r['lost'], r['duplicates'],
                    r['reordered'], r['outage_ms'], len(r['gaps'])))
            if r['duplicates']:
                fail.append('%s: %d duplicated probes' % (flow, r['duplicates']))
            if r['received'] == 0:
                fail.append('%s: nothing received' % flow)
        for name in sorted(base):
            b, e = base[name], end[name]
            grown = (e['rss_kb'] or 0) - (b['rss_kb'] or 0)
            say('*** %s: mbufs in use %d -> %d, RSS %d -> %d kB (%+d kB; '
                '%d kB at start)' % (name, b['in_use'], e['in_use'],
                                     b['rss_kb'], e['rss_kb'], grown,
                                     self.result['start'][name]['rss_kb']))
            if e['in_use'] > b['in_use'] + IN_FLIGHT_SLACK:
                fail.append('%s: mbufs in use %d, baseline %d' % (
                    name, e['in_use'], b['in_use']))
            if grown > RSS_GROWTH_MAX_KB:
                fail.append('%s: resident memory grew %d kB' % (name, grown))

    def stop(self):
        if not self.net:
            return
        errors = {}
        for s in self.net.switches:
            pid = s.daemon_pid()
            s.stop(deleteIntfs=False)
            self.result['stopped'].append({'switch': s.name, 'pid': pid})
            with open(s.log) as f:
                bad = [l.rstrip() for l in f if ' ERROR ' in l]
            warns = sum(1 for l in open(s.log) if ' WARN ' in l)
            self.result.setdefault('warn_lines', {})[s.name] = warns
            if bad:
                errors[s.name] = bad[:5]
        if errors:
            self.result['failures'].append('ERROR lines: %s' % errors)
        self.net.stop()
        self.net = None


def main():
    # SIGTERM unwinds like Ctrl-C, so the clean-up (every satellited
    # stopped by its PID, Mininet stopped) runs. (Under `unshare --fork`
    # the parent ignores SIGTERM; SIGKILL it and the kernel ends the whole
    # PID namespace.)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=30)
    parser.add_argument('--seed', type=int, default=int(time.time()))
    parser.add_argument('--aging', type=int, default=None,
                        help='[fdb] aging_time of every switch, seconds')
    parser.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', 'target',
        'soak'))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    setLogLevel(os.environ.get('MN_LOG', 'warning'))
    say('*** soak: %.1f minutes, seed %d (logs in %s)' % (
        args.minutes, args.seed, os.environ.get('SATELLITE_MN_DIR',
                                                '/run/satellite-mn')))
    result = Soak(args.minutes, args.seed, os.path.abspath(args.out),
                  args.aging).run()
    for f in result['failures']:
        say('FAIL: ' + f)
    say('SOAK-RESULT ' + json.dumps(result, sort_keys=True))
    say('*** soak %s in %.0f s' % ('FAILED' if result['failures'] else 'passed',
                                   result['seconds']))
    sys.exit(1 if result['failures'] else 0)


if __name__ == '__main__':
    main()
