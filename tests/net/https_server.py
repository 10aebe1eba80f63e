#!/usr/bin/python3
"""HTTPS test servers for the net/ and policy/ integration tests (stdlib + the openssl CLI).

Usage: https_server.py --dir <empty temp dir> [--lifetime <seconds>]
Makes a test CA and server certificates in --dir (valid, wrong name, expired, other CA,
wildcard, partial wildcard, the right name in the subject CN only), starts one listener per certificate on 127.0.0.1 ephemeral
ports plus a plain-HTTP one, a tarpit (never accepts) and a refused port, prints
"<name>_port <n>" lines, "ca_file <path>" and "ready". Exits when stdin closes.
"""
import http.server
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time

HOST = "mta-sts.good.test"
POLICY = b"version: STSv1\nmode: enforce\nmx: mail.good.test\nmax_age: 86400\n"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "30", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_csr(d, name, dns, san=True):
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={dns}", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        if san:
            f.write(f"subjectAltName=DNS:{dns}\n")
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")


def make_cert(d, name, dns, ca="ca", san=True):
    make_csr(d, name, dns, san)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "30", "-out", f"{name}.pem", "-extfile", f"{name}.ext", cwd=d)


def make_expired_cert(d, name, dns):
    make_csr(d, name, dns)
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca=test\n[test]\ndir=.\ndatabase=index.txt\nserial=serial\n"
                "new_certs_dir=newcerts\ncertificate=ca.pem\nprivate_key=ca.key\n"
                "default_md=sha256\npolicy=anything\nunique_subject=no\n"
                "[anything]\ncommonName=supplied\n")
    openssl("ca", "-config", "ca.cnf", "-batch", "-notext", "-in", f"{name}.csr", "-out", f"{name}.pem",
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
            "-extfile", f"{name}.ext", cwd=d)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain; charset=utf-8", length=True, extra=()):
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def chunked(self, pieces):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for p in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        p = self.path
        if p == "/.well-known/mta-sts.txt":
            self.reply(200, POLICY)
        elif p == "/upper":
            self.reply(200, POLICY, ctype="TEXT/Plain ; charset=x")
        elif p == "/echo":
            body = f"host={self.headers.get('Host')}\nua={self.headers.get('User-Agent')}\n"
            self.reply(200, body.encode())
        elif p == "/notfound":
            self.reply(404, b"not here\n")
        elif p == "/redirect":
            self.reply(301, b"", extra=[("Location", "https://evil.test/")])
        elif p == "/html":
            self.reply(200, b"<html></html>", ctype="text/html")
        elif p == "/notype":
            self.reply(200, POLICY, ctype=None)
        elif p == "/big-cl":
            self.reply(200, b"a" * 70000)
        elif p == "/big-nocl":
            self.reply(200, b"a" * 70000, length=False)
        elif p == "/exact-nocl":
            self.reply(200, b"b" * 65536, length=False)
        elif p == "/early-hints":  # interim responses, flushed apart from the final one
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
            self.wfile.flush()
            time.sleep(0.05)
            self.reply(200, POLICY)
        elif p == "/switching":
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")
            self.reply(200, POLICY)
        elif p == "/chunked":
            self.chunked([POLICY[:10], POLICY[10:30], POLICY[30:]])
        elif p == "/big-chunked":
            self.chunked([b"c" * 8192] * 10)
        elif p == "/headers":
            self.reply(200, b"ok\n", extra=[("X-Mixed-Case", "Yes"), ("X-Twice", "first"), ("X-Twice", "second")])
        elif p == "/stall":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            time.sleep(60)
        else:
            self.reply(404, b"unknown test path\n")


    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/echo-post":
            head = (f"method=POST\nctype={self.headers.get('Content-Type')}\n"
                    f"x-test={self.headers.get('X-Test')}\nlength={length}\n").encode()
            self.reply(202, head + body, extra=[("X-Received", str(length))])
        else:
            self.reply(404, b"unknown test path\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that abort handshakes on purpose are the point of these tests


def serve(name, cert=None, key=None, d=None):
    httpd = Server(("127.0.0.1", 0), Handler)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, cert), os.path.join(d, key))
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(f"{name}_port", httpd.server_address[1], flush=True)


def main():
    d = sys.argv[sys.argv.index("--dir") + 1]
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 120
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    threading.Timer(lifetime, lambda: os._exit(0)).start()

    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "good", HOST)
    make_cert(d, "wrongname", "other.test")
    make_cert(d, "wildcard", "*.good.test")
    make_cert(d, "partial", "mta*.good.test")
    make_cert(d, "untrusted", HOST, ca="otherca")
    make_expired_cert(d, "expired", HOST)
    make_cert(d, "cnonly", HOST, san=False)
    for name in ["good", "wrongname", "wildcard", "partial", "untrusted", "expired", "cnonly"]:
        serve(name, f"{name}.pem", f"{name}.key", d)
    serve("plain")
    tarpit = socket.socket()
    tarpit.bind(("127.0.0.1", 0))
    tarpit.listen(16)  # connections complete in the kernel and are never accepted
    print("tarpit_port", tarpit.getsockname()[1], flush=True)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    print("refused_port", closed.getsockname()[1], flush=True)
    closed.close()
    print("ca_file", os.path.join(d, "ca.pem"), flush=True)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
