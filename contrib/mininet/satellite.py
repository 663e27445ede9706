"""Satellite switches in Mininet.

    mn --custom contrib/mininet/satellite.py --switch satellite \\
       --controller none --topo linear,8,1      # or torus,4,4, or ring,8

Every switch is one `satellited` over the switch's Mininet interfaces
(AF_PACKET, DPDK with --no-huge), in the switch's own network namespace
(as `mn --innamespace` does for every switch; see __init__ for why), with its configuration, control socket,
PID file and log in a private directory, /run/satellite-mn/<switch>/ (not
/tmp, whose Mininet-looking files `mn -c` deletes). `stop()` ends each
daemon by the PID this class started; nothing here ever needs `mn -c`, and
nothing kills by name.

What the class does for you:

- Port kinds: interfaces toward another switch are `fabric` (RSTP and
  SSTP), interfaces toward a host `edge` (forwarding at once).
- Port MACs: switch k's port p gets 02:5a:00:KK:KK:PP (k from the dpid, so
  `s1` is 1), so bridge IDs are readable and, at equal priority, the switch
  with the lowest number is the root, as with Mininet's Linux bridges.
- TX checksum offload off on the host side of each link (a userspace
  switch would otherwise pass partially-checksummed frames on).
- Interfaces added at run time: `net.addLink(s1, s8)` then
  `s1.attach('s1-eth3')` and `s8.attach('s8-eth3')` add the ports to the
  running daemons (`satctl port add IF --kind fabric|edge`); `detach(intf)`
  removes one (`satctl port del IF`). The configuration file is not
  rewritten: a port added at run time lasts until the daemon stops.
- In the Mininet CLI, `s1 satctl show stp` talks to s1's daemon (a shell
  function in the switch's shell adds `-s <its socket>`), and `topology`
  prints `satctl show topology` with every switch's port roles.

Switch parameters (`--switch satellite,priority=4096,max_age=20`):
priority, hello_time, max_age, forward_delay (RSTP; default 2/20/15 s, the
standard's: Max Age bounds how many hops from the root a switch may be, so
`linear,8,1` needs at least 8 and a ring of 24 with a switch down 22; the
labs' 1/6/4 s reach 6 hops), dead_count (SSTP HELLOs missed
before an adjacency is down; default 10, the labs' value for many daemons
on few cores), memory_mb, metrics (a TCP port for Prometheus /metrics on
127.0.0.1), extra (lines appended to the TOML file).

Binaries: $SATELLITE_BIN (a directory), else this tree's target/release,
else $PATH. Runs as root, as Mininet does. Python 3 and Mininet 2.3 from
Debian; nothing else.
"""

import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import time

from mininet.cli import CLI
from mininet.log import error, info, output
from mininet.node import Switch
from mininet.topo import Topo

RUN_DIR = os.environ.get('SATELLITE_MN_DIR', '/run/satellite-mn')
# `mn --custom` execs this file without __file__; the code object still
# knows where it came from.
HERE = os.path.dirname(os.path.abspath(
    inspect.currentframe().f_code.co_filename))


def satellite_bin(name):
    """Path of a Satellite binary: $SATELLITE_BIN, this tree's build, PATH."""
    candidates = []
    if os.environ.get('SATELLITE_BIN'):
        candidates.append(os.path.join(os.environ['SATELLITE_BIN'], name))
    candidates.append(os.path.join(HERE, '..', '..', 'target', 'release',
                                   name))
    for path in candidates:
        if os.access(path, os.X_OK):
            return os.path.abspath(path)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError('%s not found: build it (cargo build --release '
                       '--workspace --bins) or set SATELLITE_BIN' % name)


def _pid_is(pid, socket):
    """True when `pid` is a satellited serving `socket` (from its command
    line), so a stale PID file never makes us signal someone else."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            argv = f.read().split(b'\0')
    except OSError:
        return False
    return (bool(argv) and os.path.basename(argv[0]) == b'satellited'
            and socket.encode() in argv)


class SatelliteSwitch(Switch):
    """A Mininet switch that is one satellited process."""

    def __init__(self, name, priority=32768, hello_time=2, max_age=20,
                 forward_delay=15, dead_count=10, memory_mb=96, metrics=None,
                 extra='', **params):
        # Each switch in its own network namespace: DPDK 22.11's AF_PACKET
        # driver joins a PACKET_FANOUT group numbered (pid ^ ifindex) &
        # 0xffff, and the kernel refuses (EINVAL) a second device in a
        # group of the same number in the same namespace, so daemons
        # sharing one namespace collide at random. Its own namespace also
        # takes the switch's interfaces away with it whatever happens.
        # Mininet's addSwitch always passes its own inNamespace (False
        # unless --innamespace), so this overrides it.
        params['inNamespace'] = True
        Switch.__init__(self, name, **params)
        # Switch sets it only outside a namespace; defaultIntf reads it.
        self.controlIntf = getattr(self, 'controlIntf', None)
        self.stp = dict(priority=int(priority), hello_time=int(hello_time),
                        max_age=int(max_age),
                        forward_delay=int(forward_delay))
        self.dead_count = int(dead_count)
        self.memory_mb = int(memory_mb)
        self.metrics = metrics
        self.extra = extra
        self.dir = os.path.join(RUN_DIR, name)
        self.socket = os.path.join(self.dir, 'ctl.sock')
        self.config = os.path.join(self.dir, 'satellited.toml')
        self.log = os.path.join(self.dir, 'satellited.log')
        self.pidfile = os.path.join(self.dir, 'satellited.pid')
        self.daemon = None

    @classmethod
    def setup(cls):
        """Fails early when the binaries are missing."""
        satellite_bin('satellited')
        satellite_bin('satctl')

    # -- ports

    def number(self):
        """The switch's number, from its dpid (s1 -> 1, torus s2x3 ->
        0x203)."""
        return int(self.dpid, 16) & 0xffff

    def port_mac(self, intf):
        """02:5a:00:KK:KK:PP for port PP of switch KKKK."""
        k, p = self.number(), self.ports.get(intf, 0)
        return '02:5a:00:%02x:%02x:%02x' % (k >> 8, k & 0xff, p & 0xff)

    def data_intfs(self):
        """Interfaces that are switch ports (not lo, not addressed)."""
        return [i for i in self.intfList()
                if i.name != 'lo' and i is not self.controlIntf
                and not i.IP()]

    @staticmethod
    def peer(intf):
        """The interface at the other end of `intf`'s link, if any."""
        link = getattr(intf, 'link', None)
        if not link:
            return None
        return link.intf2 if link.intf1 is intf else link.intf1

    def port_kind(self, intf):
        """`fabric` toward a switch, `edge` toward a host."""
        other = self.peer(intf)
        return 'fabric' if other and isinstance(other.node, Switch) \
            else 'edge'

    def prepare(self, intf):
        """Sets the port's MAC, and TX checksum offload off on the host
        side of its link."""
        # A veth takes a new MAC while up (Mininet's setMAC would take it
        # down and up, a carrier flap for the neighbour).
        mac = self.port_mac(intf)
        self.cmd('ip link set dev %s address %s' % (intf, mac))
        intf.mac = mac
        other = self.peer(intf)
        if other and not isinstance(other.node, SatelliteSwitch):
            other.node.cmd('ethtool -K %s tx off >/dev/null 2>&1' % other)

    def config_text(self):
        """The TOML configuration of this switch."""
        s = self.stp
        lines = [
            '# Written by contrib/mininet/satellite.py for %s' % self.name,
            '[bridge]', 'name = "%s"' % self.name, '',
            '[dataplane]', 'workers = 1', 'memory_mb = %d' % self.memory_mb,
            'hugepages = false', '',
            '[stp]', 'priority = %d' % s['priority'],
            'hello_time = %d' % s['hello_time'],
            'max_age = %d' % s['max_age'],
            'forward_delay = %d' % s['forward_delay'], '',
            '[sstp]', 'dead_count = %d' % self.dead_count, '',
        ]
        if self.metrics:
            lines += ['[metrics]', 'listen = "127.0.0.1:%s"' % self.metrics,
                      '']
        for intf in self.data_intfs():
            lines += ['[[port]]', 'name = "%s"' % intf.name,
                      'backend = "af_packet"',
                      'kind = "%s"' % self.port_kind(intf), '']
        if self.extra:
            lines.append(self.extra)
        return '\n'.join(lines) + '\n'

    # -- life cycle

    def start(self, controllers):
        """Writes the configuration and starts satellited (batchStartup
        waits for every daemon to answer)."""
        os.makedirs(self.dir, exist_ok=True)
        self.stop_stale()
        for intf in self.data_intfs():
            self.prepare(intf)
        with open(self.config, 'w') as f:
            f.write(self.config_text())
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        logf = open(self.log, 'w')
        # self.popen runs it in the switch's namespace (the root one unless
        # --innamespace) through mnexec, which execs: the PID is the
        # daemon's. mnexec -d gives it its own session, so a Ctrl-C in the
        # CLI does not reach it.
        self.daemon = self.popen(
            [satellite_bin('satellited'), '--name', self.name,
             '--socket', self.socket, '--config', self.config],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        with open(self.pidfile, 'w') as f:
            f.write('%d\n' % self.daemon.pid)
        # `s1 satctl ...` in the CLI: satctl with this switch's socket.
        self.cmd('satctl() { %s -s %s "$@"; }'
                 % (satellite_bin('satctl'), self.socket))

    @classmethod
    def batchStartup(cls, switches, timeout=60):
        """Waits until every daemon answers on its control socket; returns
        the switches that do (Mininet's hook after every start())."""
        end = time.time() + timeout
        pending = [s for s in switches if s.daemon]
        ready = []
        while pending and time.time() < end:
            for s in list(pending):
                if s.daemon.poll() is not None:
                    error('*** %s: satellited exited (%s); log %s:\n%s\n'
                          % (s.name, s.daemon.returncode, s.log,
                             s.log_tail()))
                    pending.remove(s)
                elif s.answers():
                    ready.append(s)
                    pending.remove(s)
            if pending:
                time.sleep(0.2)
        for s in pending:
            error('*** %s: satellited did not answer within %d s; log %s\n'
                  % (s.name, timeout, s.log))
        return ready

    def answers(self):
        """True when the daemon answers on its control socket."""
        out = subprocess.run(
            [satellite_bin('satctl'), '-s', self.socket, 'show', 'ports'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return out.returncode == 0

    def stop(self, deleteIntfs=True):
        """Stops the daemon by its PID (SIGTERM, then SIGKILL after 5 s).
        Safe to call twice. Keeps the log and configuration."""
        d, self.daemon = self.daemon, None
        if d is not None and d.poll() is None:
            d.send_signal(signal.SIGTERM)
            try:
                d.wait(5)
            except subprocess.TimeoutExpired:
                error('*** %s: satellited ignored SIGTERM; SIGKILL\n'
                      % self.name)
                d.kill()
                d.wait()
        for path in (self.pidfile, self.socket):
            if os.path.exists(path):
                os.unlink(path)
        super(SatelliteSwitch, self).stop(deleteIntfs)

    def stop_stale(self):
        """Stops a satellited a previous, killed run left for this switch
        (found by its PID file, checked against its command line)."""
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        if _pid_is(pid, self.socket):
            info('*** %s: stopping stale satellited (pid %d)\n'
                 % (self.name, pid))
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not _pid_is(pid, self.socket):
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        os.unlink(self.pidfile)

    def daemon_pid(self):
        """The daemon's PID, or None when it is not running (Mininet's
        `pid` is the switch shell's)."""
        return self.daemon.pid if self.daemon else None

    def connected(self):
        """True once the spanning tree has settled here: every port with
        carrier forwards, or is an alternate/backup port (what `mn --wait`
        waits for)."""
        try:
            stp = self.satctl_json('show', 'stp')
        except (RuntimeError, ValueError):
            return False
        ports = stp.get('ports') or []
        return bool(ports) and all(
            p.get('state') == 'forwarding'
            or p.get('role') in ('alternate', 'backup', 'disabled')
            for p in ports)

    # -- run-time ports

    def attach(self, intf):
        """Adds an interface created at run time (e.g. by net.addLink) as a
        port of the running daemon."""
        intf = self.intf(intf) if isinstance(intf, str) else intf
        self.prepare(intf)
        self.satctl('port', 'add', intf.name, '--kind', self.port_kind(intf))

    def detach(self, intf):
        """Removes a port from the running daemon (the interface stays)."""
        name = intf if isinstance(intf, str) else intf.name
        self.satctl('port', 'del', name)

    # -- satctl

    def satctl(self, *args):
        """Runs `satctl -s <socket> ARGS`; returns its output, raising
        RuntimeError with its message when it fails."""
        cmd = [satellite_bin('satctl'), '-s', self.socket] + \
            [str(a) for a in args]
        out = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=False)
        if out.returncode != 0:
            raise RuntimeError('%s: %s' % (' '.join(cmd),
                                           out.stderr.decode().strip()))
        return out.stdout.decode()

    def satctl_json(self, *args):
        """`satctl --json ARGS`, parsed."""
        return json.loads(self.satctl('--json', *args))

    def log_tail(self, lines=20):
        """The last lines of the daemon's log."""
        try:
            with open(self.log) as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return ''

    def rss_kb(self):
        """Resident memory of the daemon in kB (VmRSS), or None."""
        if not self.daemon:
            return None
        try:
            with open('/proc/%d/status' % self.daemon.pid) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        return int(re.findall(r'\d+', line)[0])
        except OSError:
            pass
        return None


class RingTopo(Topo):
    """A ring of n switches s1..sn with one host each (h1..hn): Mininet's
    `linear,n,1` (same names, same port numbers) plus the link sn - s1
    (sN-eth3 to s1-eth3) that closes the loop."""

    def build(self, n=8):
        n = int(n)
        if n < 3:
            raise Exception('a ring needs at least 3 switches')
        switches = []
        for i in range(1, n + 1):
            s = self.addSwitch('s%d' % i)
            self.addLink(self.addHost('h%d' % i), s)
            if switches:
                self.addLink(switches[-1], s)
            switches.append(s)
        self.addLink(switches[0], switches[-1])


class SatelliteCLI(CLI):
    """Mininet's CLI with `topology`: `satctl show topology` asked of every
    running Satellite switch (`--from` each socket), so the table names
    every port's role; `topology --format svg > f.svg` and the other
    `show topology` options pass through. `mn --custom satellite.py` makes
    it the CLI."""

    def do_topology(self, line):
        """topology [satctl show topology options]: every switch's view."""
        sats = [s for s in self.mn.switches
                if isinstance(s, SatelliteSwitch) and s.daemon]
        if not sats:
            error('no running Satellite switch\n')
            return
        froms = []
        for s in sats:
            froms += ['--from', s.socket]
        try:
            output(sats[0].satctl('show', 'topology', *(froms + line.split())))
        except RuntimeError as e:
            error('%s\n' % e)


switches = {'satellite': SatelliteSwitch}
topos = {'ring': RingTopo}

# `mn --custom` takes a module-level CLI as the CLI class to run.
CLI = SatelliteCLI
