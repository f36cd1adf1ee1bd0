DEBIAN_FRONTEND=noninteractive apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io ufw chrony xfsprogs curl ca-certificates jq
mkdir -p /etc/docker
chmod 0755 /etc/docker
# write /etc/docker/daemon.json mode=0644 owner=keep group=keep
systemctl enable docker.service
systemctl start docker.service
systemctl enable chrony.service
systemctl start chrony.service
mkdir -p /etc/ssh/sshd_config.d
chmod 0755 /etc/ssh/sshd_config.d
# write /etc/ssh/sshd_config.d/10-keybuzz.conf mode=0644 owner=keep group=keep
mkdir -p /etc/systemd/resolved.conf.d
chmod 0755 /etc/systemd/resolved.conf.d
# write /etc/systemd/resolved.conf.d/10-keybuzz-dns.conf mode=0644 owner=keep group=keep
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w vm.swappiness=1
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w net.core.somaxconn=4096
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w net.ipv4.tcp_max_syn_backlog=8192
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w 'net.ipv4.ip_local_port_range=10240 65535'
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w net.ipv4.tcp_tw_reuse=1
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w fs.file-max=2097152
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w fs.inotify.max_user_instances=8192
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w fs.inotify.max_user_watches=524288
# write /etc/sysctl.d/60-keybuzz.conf mode=keep owner=keep group=keep
sysctl -w vm.max_map_count=262144
mkdir -p /etc/systemd/journald.conf.d
chmod 0755 /etc/systemd/journald.conf.d
# write /etc/systemd/journald.conf.d/60-keybuzz.conf mode=0644 owner=keep group=keep
mkdir -p /etc/cloud/cloud.cfg.d
chmod 0755 /etc/cloud/cloud.cfg.d
# write /etc/cloud/cloud.cfg.d/99-keybuzz-hosts.cfg mode=0644 owner=keep group=keep
ufw allow 22/tcp comment ssh
ufw allow from 10.0.0.0/16 to any port 9000 proto tcp comment 'minio s3 api'
ufw allow from 10.0.0.0/16 to any port 9001 proto tcp comment 'minio console'
ufw --force default deny incoming
ufw --force default allow outgoing
ufw --force enable
systemctl start ssh.service
systemctl restart systemd-resolved.service
systemctl restart systemd-journald.service
systemctl restart docker.service
# write /etc/hosts mode=keep owner=keep group=keep
# write /etc/hosts mode=keep owner=keep group=keep
# write /etc/hosts mode=keep owner=keep group=keep
mkdir -p /opt/keybuzz/minio
chmod 0755 /opt/keybuzz/minio
mkdir -p /opt/keybuzz/minio/data
chown root /opt/keybuzz/minio/data
chmod 0750 /opt/keybuzz/minio/data
f=$(mktemp) || exit 1
cat > "$f" <<'KBZ_ENV' || { rm -f "$f"; exit 1; }
MINIO_BROWSER_REDIRECT_URL=http://10.0.0.134:9001
MINIO_ROOT_PASSWORD=********
MINIO_ROOT_USER=********
KBZ_ENV
docker run -d --name minio --label kbz-play.spec=ce3542a8792f525b64bd7963efe02eea73151ea0d1f0e45c38aeae63d623b13a --restart unless-stopped --network host -v /opt/keybuzz/minio/data:/data --label io.keybuzz.role=minio --env-file "$f" minio/minio:RELEASE.2024-10-02T10-00Z server http://minio-01.keybuzz.io:9000/data http://minio-02.keybuzz.io:9000/data http://minio-03.keybuzz.io:9000/data --console-address :9001
rc=$?
rm -f "$f"
exit $rc
kbz_open() {
  if command -v bash >/dev/null 2>&1; then
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' kbz "$1" "$2"
  else
    nc -z -w 2 "$1" "$2"
  fi
} 2>/dev/null
kbz_out=
sleep 0
kbz_end=$(( $(date +%s) + 120 ))
while :; do
  if kbz_open 10.0.0.134 9000; then exit 0; fi
  if [ "$(date +%s)" -ge "$kbz_end" ]; then
    echo 'wait_for: timed out after 120s waiting for port 9000 on 10.0.0.134 to accept connections' >&2
    [ -n "$kbz_out" ] && printf '%s\n' "$kbz_out" >&2
    exit 1
  fi
  sleep 1
done
