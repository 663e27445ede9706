#!/usr/bin/python3
"""The seed walkthrough on Satellite, in Mininet (docs/walkthrough.md).

    /usr/bin/python3 contrib/mininet/walkthrough.py [--out DIR] [--json FILE]

1. `linear,8,1` with Satellite switches: s1..s8 in a line, h1..h8.
2. The ring is closed at run time: net.addLink(s1, s8), then
   s1.attach('s1-eth3') and s8.attach('s8-eth3') (`satctl port add`),
   with tcpdump -e -vv on s1-eth3 from before the link carries anything:
   BPDUs, SSTP hellos (EtherType 0x88b5) and the topology change.
3. pingall.
4. Under `ping -f` from several hosts: s8 down (all its links), s8 up,
   the root moved to s4 by priority (`satctl set priority 4096`, as
   `brctl setbridgeprio s4 50` would); packets lost per flow per event.
5. `satctl show topology` (text, and SVG in DIR) after each step.

Prints what it does as it goes and, at the end, one JSON line starting
`WALKTHROUGH-RESULT ` (also written to --json FILE) for the e2e test
(tests/tests/walkthrough.rs), which checks it against stated bounds. Every
satellited is stopped by the PID this run started, even on failure, and
the result lists them. Needs root, Debian's python3 (/usr/bin/python3)
and Mininet 2.3; exits 1 when a step fails.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.topo import LinearTopo  # noqa: E402

from satellite import SatelliteSwitch, satellite_bin  # noqa: E402

N = 8
# Flood-ping flows (source host, destination host), 1-based: h7 -> h1
# crosses s8 (s7, s8, s1), h2 -> h4 (s2, s3, s4) never does and keeps its
# path through every event here, h6 -> h2 goes one way or the other round
# the ring depending on the tree.
FLOWS = [(7, 1), (2, 4), (6, 2)]
# Each flow sends FLOOD_COUNT echo requests (`ping -f -c`: no request is
# cut off by a deadline and counted lost); the event happens EVENT_AT s in.
# Flood ping sends as fast as replies come back (500-2,000/s here), so a
# flow lasts 6-24 s; the result records whether each still ran when the
# event happened.
FLOOD_COUNT = 12000
FLOOD_DEADLINE = 30
EVENT_AT = 1.5


def say(text=''):
    """Prints a line at once (the e2e test shows the output on failure)."""
    print(text, flush=True)


def shell(cmd):
    """Prints `$ cmd` and what it printed (as in docs/walkthrough.md)."""
    say('$ ' + cmd)


def loadavg():
    """The 1-minute load average."""
    with open('/proc/loadavg') as f:
        return float(f.read().split()[0])


class Walkthrough:
    """One run; `result` collects what the e2e test checks."""

    def __init__(self, out):
        self.out = out
        self.net = None
        self.result = {'events': [], 'steps': {}, 'stopped': [],
                       'errors': []}
        self.tcpdump = None

    # -- helpers

    def sw(self, k):
        return self.net['s%d' % k]

    def host(self, k):
        return self.net['h%d' % k]

    def sockets(self):
        return [s.socket for s in self.net.switches]

    def topology(self, tag, ask=1):
        """`satctl show topology` with every switch's roles; an SVG too."""
        froms = []
        for s in self.net.switches:
            if s.answers():
                froms += ['--from', s.socket]
        shell('s%d satctl show topology --from ...every switch...' % ask)
        try:
            text = self.sw(ask).satctl('show', 'topology', *froms)
        except RuntimeError as e:
            text = '(no topology: %s)\n' % e
        sys.stdout.write(text)
        svg = os.path.join(self.out, '%s.svg' % tag)
        try:
            with open(svg, 'w') as f:
                f.write(self.sw(ask).satctl('show', 'topology', '--format',
                                            'svg', *froms))
            say('  (picture: %s)' % svg)
        except (RuntimeError, OSError) as e:
            say('  (no picture: %s)' % e)
        return text

    def roots(self, skip=()):
        """The root ID every switch not in `skip` names."""
        ids = set()
        for k in range(1, N + 1):
            if k in skip:
                continue
            ids.add(self.sw(k).satctl_json('show', 'stp')['root_id'])
        return ids

    def blocked(self, skip=()):
        """(switch, port) of every alternate/backup port."""
        out = []
        for k in range(1, N + 1):
            if k in skip:
                continue
            for p in self.sw(k).satctl_json('show', 'stp')['ports']:
                if p.get('role') in ('alternate', 'backup'):
                    out.append('s%d:%s' % (k, p['name']))
        return out

    def wait_tree(self, blocked, timeout=30, skip=()):
        """Waits until the switches not in `skip` agree on one root, every
        port has settled and `blocked` ports are alternate; returns the
        seconds it took."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                ok = (len(self.roots(skip)) == 1
                      and len(self.blocked(skip)) == blocked
                      and all(self.sw(k).connected()
                              for k in range(1, N + 1) if k not in skip))
            except (RuntimeError, ValueError, KeyError):
                ok = False
            if ok:
                return time.time() - t0
            time.sleep(0.1)
        raise RuntimeError('tree not settled in %d s: roots %s, blocked %s'
                           % (timeout, self.roots(skip), self.blocked(skip)))

    # -- steps

    def build(self):
        shell('mn --custom contrib/mininet/satellite.py --switch satellite '
              '--controller none --topo linear,%d,1' % N)
        t0 = time.time()
        self.net = Mininet(topo=LinearTopo(N, 1), switch=SatelliteSwitch,
                           controller=None, autoSetMacs=True)
        self.net.start()
        started = [s for s in self.net.switches if s.daemon_pid()]
        if len(started) != N or not all(s.answers() for s in started):
            raise RuntimeError('not every satellited started')
        settle = self.wait_tree(0)
        self.result['steps']['start_s'] = round(time.time() - t0, 2)
        say('*** %d satellited running (pids %s), tree settled %.1f s after '
            'start' % (N, ' '.join(str(s.daemon_pid())
                                   for s in self.net.switches), settle))
        shell('s1 satctl show stp')
        sys.stdout.write(self.sw(1).satctl('show', 'stp'))

    def close_ring(self):
        say('\n*** Closing the ring at run time: s1 <-> s8')
        shell("py net.addLink(s1, s8)")
        link = self.net.addLink(self.sw(1), self.sw(N))
        i1 = link.intf1 if link.intf1.node is self.sw(1) else link.intf2
        i8 = link.intf2 if i1 is link.intf1 else link.intf1
        say('  new link: %s <-> %s' % (i1, i8))
        capture = os.path.join(self.out, 'tcpdump-%s.txt' % i1)
        shell('s1 tcpdump -e -vv -n -i %s &' % i1)
        logf = open(capture, 'w')
        self.tcpdump = self.sw(1).popen(
            ['tcpdump', '-e', '-vv', '-n', '-l', '-i', str(i1)],
            stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        time.sleep(1.0)  # tcpdump is listening before the first BPDU
        t0 = time.time()
        shell("py s1.attach('%s'); s8.attach('%s')" % (i1, i8))
        self.sw(1).attach(i1)
        self.sw(N).attach(i8)
        settle = self.wait_tree(1)
        self.result['steps']['close_ring_s'] = round(time.time() - t0, 2)
        time.sleep(3)  # a few hellos and BPDUs in the steady state
        self.stop_tcpdump()
        with open(capture) as f:
            text = f.read()
        lines = [l for l in text.splitlines() if l.strip()]
        bpdus = [l for l in lines if 'STP 802.1' in l]
        hellos = [l for l in lines if '0x88b5' in l]
        tcs = [l for l in bpdus if 'Topology change' in l
               or 'Topology-Change' in l or 'TopoChange' in l]
        say('*** ring closed; tree settled %.2f s after attach; blocked: %s'
            % (settle, ', '.join(self.blocked())))
        say('*** tcpdump on %s (%s): %d BPDUs, %d SSTP frames (0x88b5), '
            '%d BPDUs with the topology-change flag'
            % (i1, capture, len(bpdus), len(hellos), len(tcs)))
        for l in (bpdus[:2] + tcs[:1] + hellos[:2]):
            say('  ' + l[:200])
        self.result['tcpdump'] = {'bpdus': len(bpdus),
                                  'sstp': len(hellos),
                                  'topology_change': len(tcs)}
        self.topology('ring-closed')

    def stop_tcpdump(self):
        p, self.tcpdump = self.tcpdump, None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def pingall(self):
        say('')
        shell('pingall')
        dropped = self.net.pingAll(timeout='1')
        self.result['pingall_dropped_pct'] = dropped
        return dropped

    def flood(self, name, event, skip_hosts=()):
        """Flood pings on FLOWS, `event` EVENT_AT s in; records, per flow,
        requests sent and replies received."""
        flows = [f for f in FLOWS if f[0] not in skip_hosts
                 and f[1] not in skip_hosts]
        procs = {}
        for a, b in flows:
            dst = self.host(b).IP()
            procs[(a, b)] = self.host(a).popen(
                ['ping', '-f', '-q', '-c', str(FLOOD_COUNT), '-W', '1',
                 '-w', str(FLOOD_DEADLINE), dst],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(EVENT_AT)
        load = loadavg()
        event()
        running = {k: p.poll() is None for k, p in procs.items()}
        row = {'event': name, 'load': load, 'flows': {}}
        for (a, b), p in procs.items():
            out, _ = p.communicate(timeout=FLOOD_DEADLINE + 10)
            out = out.decode(errors='replace')
            m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
            sent, got = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
            row['flows']['h%d->h%d' % (a, b)] = {
                'sent': sent, 'received': got, 'lost': sent - got,
                'running_at_event': running[(a, b)]}
        say('*** %s (load %.2f): ' % (name, load) + '; '.join(
            '%s lost %d of %d' % (k, v['lost'], v['sent'])
            for k, v in row['flows'].items()))
        self.result['events'].append(row)
        return row

    def s8_links(self, state):
        for intf in self.sw(N).intfList():
            if intf.name != 'lo':
                self.sw(N).cmd('ip link set %s %s' % (intf, state))

    def events(self):
        say('\n*** Event 1: s8 down (every link of s8) under ping -f from '
            + ', '.join('h%d->h%d' % f for f in FLOWS))
        shell('s8 ip link set s8-ethK down   # K = 1, 2, 3')
        self.flood('s8 down', lambda: self.s8_links('down'),
                   skip_hosts=(N,))
        self.wait_tree(0, skip=(N,))
        self.topology('s8-down')

        say('\n*** Event 2: s8 back up')
        shell('s8 ip link set s8-ethK up')
        self.flood('s8 up', lambda: self.s8_links('up'))
        self.wait_tree(1)
        self.topology('s8-up')

        say('\n*** Event 3: the root moved to s4 by priority')
        shell('s4 satctl set priority 4096    # brctl setbridgeprio s4 50')
        self.flood('root to s4',
                   lambda: self.sw(4).satctl('set', 'priority', '4096'))
        self.wait_tree(1)
        roots = self.roots()
        s4 = self.sw(4).satctl_json('show', 'stp')['bridge_id']
        self.result['root_moved_to_s4'] = roots == {s4}
        say('*** root now %s (s4 is %s)' % (', '.join(roots), s4))
        self.topology('root-s4', ask=4)

    def stop(self):
        """Stops tcpdump and every satellited by PID, then Mininet."""
        self.stop_tcpdump()
        if not self.net:
            return
        logs_with_errors = []
        for s in self.net.switches:
            pid = s.daemon_pid()
            s.stop(deleteIntfs=False)
            alive = pid is not None and os.path.exists('/proc/%d' % pid) \
                and not open('/proc/%d/stat' % pid).read().split()[2] == 'Z'
            self.result['stopped'].append({'switch': s.name, 'pid': pid,
                                           'alive_after': alive})
            with open(s.log) as f:
                if any(' ERROR ' in line for line in f):
                    logs_with_errors.append(s.log)
        self.result['logs_with_errors'] = logs_with_errors
        self.net.stop()
        self.net = None

    def run(self):
        t0 = time.time()
        try:
            self.build()
            self.close_ring()
            self.pingall()
            self.events()
        except Exception as e:  # reported, then everything is stopped
            self.result['errors'].append('%s: %s' % (type(e).__name__, e))
            say('*** FAILED: %s: %s' % (type(e).__name__, e))
        finally:
            self.stop()
        self.result['seconds'] = round(time.time() - t0, 1)
        return self.result


def main():
    # SIGTERM unwinds like Ctrl-C, so the clean-up (every satellited
    # stopped by its PID, Mininet stopped) runs. (Under `unshare --fork`
    # the parent ignores SIGTERM; SIGKILL it and the kernel ends the whole
    # PID namespace.)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', 'target',
        'walkthrough'), help='captures and pictures (target/walkthrough)')
    parser.add_argument('--json', help='write the result here too')
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit('walkthrough.py needs root (Mininet)')
    satellite_bin('satellited')
    os.makedirs(args.out, exist_ok=True)
    # 'output' shows pingall's lines and no more of Mininet's chatter.
    setLogLevel(os.environ.get('MN_LOG', 'output'))
    result = Walkthrough(os.path.abspath(args.out)).run()
    line = json.dumps(result, sort_keys=True)
    say('\nWALKTHROUGH-RESULT ' + line)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(line + '\n')
    sys.exit(1 if result['errors'] else 0)


if __name__ == '__main__':
    main()
