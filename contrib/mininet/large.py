#!/usr/bin/python3
"""The walkthrough at scale: a ring of 24 Satellite switches with switches
cycling down and up under flood pings (scripts/walkthrough-large.sh runs
it, then `mn ... --topo torus,4,4 --test pingall`).

    /usr/bin/python3 contrib/mininet/large.py [--minutes 2] [--period 10]

`ring,24` (s1..s24, h1..h24; Max Age 40, so that the line of 23 a switch
down leaves stays within reach of the root), static ARP. Every `period`
seconds one switch goes down (every link of it), and comes back half a
period later; the switches that cycle host none of the flows' ends. Flows,
each `ping -f` for the whole run: h1 -> h13 and h13 -> h1 (opposite
sides of the ring), h7 -> h19, h4 -> h16. Prints per flow the requests
sent and lost, the events, the load average every period, and one
`LARGE-RESULT {json}` line. Every satellited is stopped by its PID at
the end. Exits 1 when a step fails (not on loss: the figures are the
point).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402

from satellite import RingTopo, SatelliteSwitch  # noqa: E402

N = 24
FLOWS = [(1, 13), (13, 1), (7, 19), (4, 16)]
CYCLE = [2, 8, 14, 20, 5, 11, 17, 23, 10, 22, 3, 15, 9, 21, 6, 18]


def say(text=''):
    print(text, flush=True)


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def switch_links(node, state):
    for intf in node.intfList():
        if intf.name != 'lo':
            node.cmd('ip link set %s %s' % (intf, state))


def main():
    # SIGTERM unwinds like Ctrl-C, so the clean-up (every satellited
    # stopped by its PID, Mininet stopped) runs. (Under `unshare --fork`
    # the parent ignores SIGTERM; SIGKILL it and the kernel ends the whole
    # PID namespace.)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=2)
    parser.add_argument('--period', type=float, default=10)
    args = parser.parse_args()
    setLogLevel(os.environ.get('MN_LOG', 'warning'))
    total = args.minutes * 60
    result = {'switches': N, 'events': [], 'load': [], 'failures': []}
    net = None
    pings = {}
    t_start = time.time()
    try:
        net = Mininet(topo=RingTopo(N),
                      switch=partial(SatelliteSwitch, max_age=40,
                                     forward_delay=21),
                      controller=None, autoSetMacs=True)
        net.start()
        net.staticArp()
        t0 = time.time()
        while time.time() - t0 < 120:
            if all(s.connected() for s in net.switches):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError('ring of %d not settled in 120 s' % N)
        result['settle_s'] = round(time.time() - t0, 1)
        say('*** ring of %d: %d satellited, settled %.1f s after start '
            '(load %s)' % (N, len(net.switches), time.time() - t0, loadavg()))
        bad = net.pingAll(timeout='1')
        result['pingall_dropped_pct'] = bad
        say('*** pingall: %s%% dropped' % bad)
        for a, b in FLOWS:
            pings[(a, b)] = net['h%d' % a].popen(
                ['ping', '-f', '-q', '-w', str(int(total) + 3),
                 net['h%d' % b].IP()],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        say('*** flood pings %s for %.0f s; a switch down every %.0f s, '
            'back up %.0f s later' % (
                ', '.join('h%d->h%d' % f for f in FLOWS), total,
                args.period, args.period / 2))
        t1 = time.time()
        k = 0
        while time.time() - t1 + args.period <= total + 0.5:
            node = net['s%d' % CYCLE[k % len(CYCLE)]]
            time.sleep(1.5)
            switch_links(node, 'down')
            result['events'].append({'t': round(time.time() - t1, 1),
                                     'down': node.name})
            time.sleep(args.period / 2)
            switch_links(node, 'up')
            result['events'].append({'t': round(time.time() - t1, 1),
                                     'up': node.name})
            result['load'].append(loadavg())
            say('  %5.1f s: %s down and up; load %s' % (
                time.time() - t1, node.name, result['load'][-1]))
            time.sleep(max(0.0, t1 + (k + 1) * args.period - time.time()))
            k += 1
        result['flows'] = {}
        for (a, b), p in pings.items():
            out, _ = p.communicate(timeout=total + 30)
            out = out.decode(errors='replace')
            m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
            sent, got = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
            result['flows']['h%d->h%d' % (a, b)] = {
                'sent': sent, 'received': got, 'lost': sent - got}
            say('*** h%d->h%d: %d sent, %d lost (%.3f %%)' % (
                a, b, sent, sent - got, 100.0 * (sent - got) / max(sent, 1)))
        pings = {}
    except Exception as e:  # recorded, then everything is stopped
        result['failures'].append('%s: %s' % (type(e).__name__, e))
        say('*** FAILED: %s: %s' % (type(e).__name__, e))
    finally:
        for p in pings.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        if net:
            errors = []
            for s in net.switches:
                s.stop(deleteIntfs=False)
                with open(s.log) as f:
                    errors += ['%s: %s' % (s.name, l.strip())
                               for l in f if ' ERROR ' in l]
            result['error_lines'] = errors[:10]
            net.stop()
    result['seconds'] = round(time.time() - t_start, 1)
    say('LARGE-RESULT ' + json.dumps(result, sort_keys=True))
    sys.exit(1 if result['failures'] else 0)


if __name__ == '__main__':
    main()
