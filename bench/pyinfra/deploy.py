"""The kbz-play demo workload (roles/keybuzz_base.rhai), op for op, for the benchmark."""

from pathlib import Path

from pyinfra import host, inventory
from pyinfra.operations import files, server

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "keybuzz_base"
nodes = [h.data.ip_private for h in inventory.iter_hosts()]
ip_private = host.data.ip_private

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
    files.line(name=key, path="/etc/ssh/sshd_config", line=rf"^#?\s*{key}\s", replace=f"{key} {value}")

for path in ["/etc/systemd/journald.conf.d", "/etc/systemd/system/docker.service.d"]:
    files.directory(name=path, path=path, mode="755")

for dest, content in [
    ("/etc/systemd/journald.conf.d/keybuzz.conf", "[Journal]\nSystemMaxUse=500M\nMaxRetentionSec=14day\n"),
    ("/etc/sysctl.d/99-keybuzz.conf", "vm.swappiness = 1\nnet.core.somaxconn = 4096\n"),
    ("/opt/keybuzz/README", "Managed by kbz-play (roles/keybuzz_base.rhai). Local edits are reverted.\n"),
]:
    files.put(name=dest, src=__import__("io").StringIO(content), dest=dest, mode="644")

server.service(name="ssh", service="ssh", running=True, enabled=True)
