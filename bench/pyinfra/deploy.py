"""The kbz-play demo workload (roles/keybuzz_base.rhai), op for op, for bench/run.sh.

30 operations per host (15 folders, 5 templates, 4 sshd lines, 2 drop-in folders,
3 small files, 1 service), leaving the same files, modes and sshd lines as kbz-play.

Equivalence notes (checked on a host by bench/run.sh):
- templates: kbz-play renders with trim_blocks + lstrip_blocks (and keeps the final
  newline, as pyinfra does); pyinfra's default Jinja environment has neither.
- sshd lines: files.line is not used. Its `line` is a *basic* grep/sed regex (so
  `#?` means a literal "#?" unless extended_regex=True), and with `replace` it sed-replaces
  *every* matching line, where kbz-play's line() and Ansible's lineinfile replace only the
  last one: sshd_config has "X11Forwarding yes" and "#\tX11Forwarding no", and files.line
  would turn both into "X11Forwarding no". `last_line` below has kbz-play's semantics at
  files.line's cost: one grep fact per op, then one sed (or echo >>) when it differs.
- the service is a systemd unit: systemd.service, as kbz-play's service() is
  systemd-only (server.service would add init-system detection facts).

On hosts without systemd (bench/run.sh's light hosts) KBZ_BENCH_NO_SERVICE=1 leaves the
service out, as kbz-play's `--skip-tags service` does.

Host data needed: ip_private (run.sh writes it into the inventory it generates).
"""

import os
from io import StringIO
from pathlib import Path

from pyinfra import host, inventory
from pyinfra.api import FactBase, QuoteString, StringCommand, operation
from pyinfra.operations import files, systemd

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "keybuzz_base"
nodes = [h.data.ip_private for h in inventory]  # inventory order, as hosts("all")
ip_private = host.data.ip_private


class NumberedMatches(FactBase):
    """`N:line` for every line of `path` matching the extended regex `pattern`."""

    def command(self, path, pattern):
        return StringCommand("grep", "-nE", QuoteString(pattern), QuoteString(path), "||", "true")

    def process(self, output):
        return output


@operation()
def last_line(path: str, regexp: str, line: str):
    """The last line matching `regexp` becomes `line`; without a match, `line` is appended
    (Ansible's lineinfile and kbz-play's line() with a regexp)."""
    hits = host.get_fact(NumberedMatches, path=path, pattern=regexp)
    if hits:
        number, _, text = hits[-1].partition(":")
        if text == line:
            host.noop(f"line {number} of {path} is already {line!r}")
            return
        yield StringCommand("sed", "-i", QuoteString(f"{number}c\\{line}"), QuoteString(path))
    else:
        yield StringCommand("echo", QuoteString(line), ">>", QuoteString(path))


for svc in ["postgres", "redis", "rabbitmq", "mariadb", "minio"]:
    for sub in ["data", "config", "logs"]:
        files.directory(name=f"{svc}/{sub}", path=f"/opt/keybuzz/{svc}/{sub}", mode="750")

for src, dest in [
    ("patroni.yml.j2", "/opt/keybuzz/postgres/config/patroni.yml"),
    ("sentinel.conf.j2", "/opt/keybuzz/redis/config/sentinel.conf"),
    ("haproxy.cfg.j2", "/opt/keybuzz/postgres/config/haproxy.cfg"),
    ("my.cnf.j2", "/opt/keybuzz/mariadb/config/my.cnf"),
    ("pgbouncer.ini.j2", "/opt/keybuzz/postgres/config/pgbouncer.ini"),
]:
    files.template(
        name=dest,
        src=str(TEMPLATES / src),
        dest=dest,
        mode="640",
        # a fresh dict each time: pyinfra pops keys out of it
        jinja_env_kwargs={"trim_blocks": True, "lstrip_blocks": True},
        hostname=host.name,
        ip_private=ip_private,
        nodes=nodes,
    )

for key, value in [
    ("PermitRootLogin", "prohibit-password"),
    ("PasswordAuthentication", "no"),
    ("X11Forwarding", "no"),
    ("MaxAuthTries", "3"),
]:
    last_line(name=key, path="/etc/ssh/sshd_config", regexp=rf"^#?\s*{key}\s", line=f"{key} {value}")

for path in ["/etc/systemd/journald.conf.d", "/etc/systemd/system/docker.service.d"]:
    files.directory(name=path, path=path, mode="755")

for dest, content in [
    ("/etc/systemd/journald.conf.d/keybuzz.conf", "[Journal]\nSystemMaxUse=500M\nMaxRetentionSec=14day\n"),
    ("/etc/sysctl.d/99-keybuzz.conf", "vm.swappiness = 1\nnet.core.somaxconn = 4096\n"),
    ("/opt/keybuzz/README", "Managed by kbz-play (roles/keybuzz_base.rhai). Local edits are reverted.\n"),
]:
    files.put(name=dest, src=StringIO(content), dest=dest, mode="644")

if not os.environ.get("KBZ_BENCH_NO_SERVICE"):
    systemd.service(name="ssh", service="ssh", running=True, enabled=True)
