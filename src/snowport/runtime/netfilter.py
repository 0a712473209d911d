"""Network policies on a Docker bridge, enforced with iptables in chains of the runtime scope's own.

Why iptables: egress must hold code that ignores proxy settings, and service-to-service port rules must
hold whatever a container sends, so the kernel decides, not a proxy. With `bridge-nf-call-iptables`
on, traffic between containers of one bridge passes FORWARD as well, so one chain sees it all:

- `SNOWPORT-<tag>` (FORWARD, jumped to from the top of Docker's DOCKER-USER chain): packets that
  neither enter nor leave this scope's bridge return at once (other servers and networks on the engine
  are untouched); established flows continue; a new connection between two pods of the bridge passes
  only when a policy selecting the destination lets the source in on that port; a new connection out
  of the bridge passes only to the engine's DNS servers and to what a policy selecting the source
  allows; anything else new is dropped.
- `SNOWPORT-<tag>-IN` (INPUT, jumped to from the top of INPUT): a container's connection to one of the
  host's own addresses goes through INPUT, not FORWARD. The gateway address (Snowport's SQL, registry
  and TLS listeners) is always reachable; other host addresses only as an egress policy allows.

"Passes" means RETURN: Docker's own rules decide next, as they would without Snowport's chains. The
whole rule set of a scope is written with one `iptables-restore --noflush`, so a packet never meets
half of it. `<tag>` is the hex of a `snowport-<hex>` scope (else a hash of the scope), so chains left
by a server that is gone can be found from the engine's networks (`collect_orphans`). Nothing here
touches a rule or chain it did not make.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import subprocess
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from snowport.runtime.base import EngineError, NetworkPolicy, PortRange

PREFIX = "SNOWPORT-"
_SCOPE_HEX = re.compile(r"snowport-([0-9a-f]{1,16})")
_TAG = re.compile(r"SNOWPORT-([0-9a-f]{1,16})")
_lock = threading.Lock()


class NetfilterError(EngineError):
    """iptables is missing or refused the rules (not root, no DOCKER-USER chain: Docker without iptables)."""


@dataclass(frozen=True)
class Bridge:
    """The scope's Docker network as the kernel sees it."""

    interface: str  # br-<network id[:12]>, or the name set in the network's options
    gateway: str  # the host's address on it


@dataclass(frozen=True)
class Member:
    """A running pod on the bridge: its sandbox's address and its labels."""

    ip: str
    labels: Mapping[str, str]


def chains(scope: str) -> tuple[str, str]:
    """The FORWARD and INPUT chain names of a scope (at most 28 characters, iptables' limit)."""
    match = _SCOPE_HEX.fullmatch(scope)
    tag = match.group(1) if match else hashlib.sha1(scope.encode()).hexdigest()[:12]
    return f"{PREFIX}{tag}", f"{PREFIX}{tag}-IN"


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _ports(r: PortRange) -> str:
    return f"-p {r.protocol} --dport {r.low}" + (f":{r.high}" if r.high != r.low else "")


DOCKER_DEFAULT_DNS = ("8.8.8.8", "8.8.4.4")  # what the engine gives containers when the host has only loopback ones
RESOLVED_CONF = Path("/run/systemd/resolve/resolv.conf")  # systemd-resolved's real upstreams, as Docker reads them


def _listed_nameservers(resolv_conf: Path) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                found.append(ipaddress.ip_address(parts[1].split("%")[0]))
            except ValueError:
                continue
    return found


def nameservers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The engine's upstream DNS servers, as Docker picks them for its embedded DNS (which forwards to
    them from the container's network namespace, through FORWARD): the host's, skipping loopback ones;
    systemd-resolved's upstreams when the host points at its stub; Docker's defaults when none is left."""
    listed = _listed_nameservers(resolv_conf)
    if listed and all(a.is_loopback for a in listed) and RESOLVED_CONF.exists():
        listed = _listed_nameservers(RESOLVED_CONF)
    usable = [str(a) for a in listed if a.version == 4 and not a.is_loopback]
    return usable or list(DOCKER_DEFAULT_DNS)


def render(scope: str, bridge: Bridge, members: Iterable[Member], policies: Iterable[NetworkPolicy],
           dns: Iterable[str]) -> str:
    """The iptables-restore input that replaces the scope's two chains."""
    forward, inbound = chains(scope)
    br = bridge.interface
    members = list(members)
    policies = list(policies)
    between: list[str] = []
    out: list[str] = []
    to_host: list[str] = []
    for policy in policies:
        targets = [m for m in members if _selects(policy.pods, m.labels)]
        for target in targets:
            for access in policy.ingress:
                for peer in members:
                    if peer.ip == target.ip or not _selects(access.peers, peer.labels):
                        continue
                    for r in access.ports:
                        between.append(f"-A {forward} -i {br} -o {br} -s {peer.ip}/32 -d {target.ip}/32 "
                                       f"{_ports(r)} -j RETURN")
            for allow in policy.egress:
                out.append(f"-A {forward} -i {br} -s {target.ip}/32 -d {allow.cidr} {_ports(allow.ports)} -j RETURN")
                to_host.append(f"-A {inbound} -s {target.ip}/32 -d {allow.cidr} {_ports(allow.ports)} -j RETURN")
    lines = [
        "*filter", f":{forward} - [0:0]", f":{inbound} - [0:0]",
        f"-A {forward} ! -i {br} ! -o {br} -j RETURN",
        f"-A {forward} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        *dict.fromkeys(between),
        f"-A {forward} -i {br} -o {br} -j DROP",
        *(f"-A {forward} -i {br} -d {ns}/32 -p {proto} --dport 53 -j RETURN" for ns in dns for proto in ("udp", "tcp")),
        *dict.fromkeys(out),
        f"-A {forward} -i {br} -j DROP",
        f"-A {forward} -o {br} -j DROP",
        f"-A {inbound} ! -i {br} -j RETURN",
        f"-A {inbound} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        f"-A {inbound} -d {bridge.gateway}/32 -j RETURN",
        *dict.fromkeys(to_host),
        f"-A {inbound} -j DROP",
        "COMMIT", "",
    ]
    return "\n".join(lines)


def _run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(list(args), input=input, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NetfilterError(f"cannot run {args[0]}: {e}") from e
    if check and done.returncode != 0:
        raise NetfilterError(f"{' '.join(args[:4])} failed: {done.stderr.strip()}")
    return done


def apply(scope: str, rules: str) -> None:
    """Write the scope's chains in one step, then make sure DOCKER-USER and INPUT jump to them (first)."""
    forward, inbound = chains(scope)
    with _lock:
        _run("iptables-restore", "-w", "--noflush", input=rules)
        for parent, chain in (("DOCKER-USER", forward), ("INPUT", inbound)):
            if _run("iptables", "-w", "-C", parent, "-j", chain, check=False).returncode != 0:
                _run("iptables", "-w", "-I", parent, "1", "-j", chain)


def installed(scope: str) -> bool:
    """The scope's chain exists and DOCKER-USER jumps to it (not removed behind the runtime's back)."""
    forward, _inbound = chains(scope)
    return _run("iptables", "-w", "-C", "DOCKER-USER", "-j", forward, check=False).returncode == 0


def remove(scope: str) -> None:
    """Take the scope's jumps and chains away (nothing else); a scope without chains is left as it is."""
    _remove_chains(chains(scope))


def _remove_chains(names: tuple[str, str]) -> None:
    forward, inbound = names
    with _lock:
        for parent, chain in (("DOCKER-USER", forward), ("INPUT", inbound)):
            for _ in range(16):  # every jump this code may have left (normally one)
                if _run("iptables", "-w", "-D", parent, "-j", chain, check=False).returncode != 0:
                    break
            if _run("iptables", "-w", "-F", chain, check=False).returncode == 0:
                _run("iptables", "-w", "-X", chain, check=False)


def collect_orphans(networks: Iterable[str]) -> list[str]:
    """Remove the chains of `snowport-<hex>` scopes whose network no longer exists on the engine (their
    server is gone and its network was removed); returns the chains removed."""
    present = set(networks)
    listed = _run("iptables", "-w", "-S", check=False)
    if listed.returncode != 0:
        return []
    removed = []
    for line in listed.stdout.splitlines():
        parts = line.split()
        if len(parts) != 2 or parts[0] != "-N":
            continue
        match = _TAG.fullmatch(parts[1])
        if match and f"snowport-{match.group(1)}" not in present:
            _remove_chains((parts[1], f"{parts[1]}-IN"))
            removed.append(parts[1])
    return removed
