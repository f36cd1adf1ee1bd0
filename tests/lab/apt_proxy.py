#!/usr/bin/env python3
"""The lab's apt proxy: lab hosts have no route out, so their apt asks this
proxy on the bridge address (Acquire::http::Proxy), which fetches from the
machine's Debian mirror and keeps the .deb files it served in a cache.

Only the mirror's own host is ever fetched from: any other URL is refused, so
lab traffic cannot reach anything but the bridge, and the proxy nothing but the
mirror the machine already uses. Standard library only (the machine's python3).

    apt_proxy.py --bind 198.18.0.1 --port 3142 --mirror URL --cache DIR

where URL is the mirror lab.sh read from the machine's own apt sources.
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Headers apt needs to see from the mirror, and the ones it sends that the
# mirror should see (conditional requests keep `apt-get update` cheap).
PASS_BACK = ("Content-Type", "Content-Length", "Last-Modified", "ETag", "Date")
PASS_ON = ("If-Modified-Since", "If-None-Match", "Range", "If-Range")


def make_handler(mirror_host, cache_dir):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("apt_proxy: %s\n" % (fmt % args))

        def refuse(self, code, why):
            body = (why + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def cached(self, url):
            """The cache file of an immutable package file, else None."""
            if not url.endswith((".deb", ".udeb")):
                return None
            return os.path.join(cache_dir, hashlib.sha256(url.encode()).hexdigest() + ".deb")

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            url = self.path
            parts = urllib.parse.urlsplit(url)
            if parts.scheme != "http" or parts.hostname != mirror_host:
                return self.refuse(403, "the lab proxy fetches from %s only" % mirror_host)
            cache = self.cached(url)
            if cache and os.path.exists(cache) and self.command == "GET" and "Range" not in self.headers:
                with open(cache, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    self.send_response(200)
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    shutil.copyfileobj(f, self.wfile)
                return
            req = urllib.request.Request(url, method=self.command)
            for h in PASS_ON:
                if h in self.headers:
                    req.add_header(h, self.headers[h])
            try:
                resp = opener.open(req, timeout=60)
            except urllib.error.HTTPError as e:
                resp = e
            except OSError as e:
                return self.refuse(502, "mirror unreachable: %s" % e)
            with resp:
                self.send_response(resp.status if hasattr(resp, "status") else resp.code)
                for h in PASS_BACK:
                    if resp.headers.get(h) is not None:
                        self.send_header(h, resp.headers[h])
                if resp.headers.get("Content-Length") is None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command == "HEAD":
                    return
                keep = cache and getattr(resp, "status", 0) == 200
                tmp = tempfile.NamedTemporaryFile(dir=cache_dir, delete=False) if keep else None
                try:
                    while True:
                        chunk = resp.read(1 << 16)
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        if tmp:
                            tmp.write(chunk)
                    if tmp:
                        tmp.close()
                        os.replace(tmp.name, cache)
                        tmp = None
                finally:
                    if tmp:
                        tmp.close()
                        os.unlink(tmp.name)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mirror", required=True, help="the Debian mirror URL lab hosts use")
    ap.add_argument("--cache", required=True, help="folder for the .deb files served")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    host = urllib.parse.urlsplit(args.mirror).hostname
    server = ThreadingHTTPServer((args.bind, args.port), make_handler(host, args.cache))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
