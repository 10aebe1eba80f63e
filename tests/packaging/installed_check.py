"""The installed package's mtastsd against the test world (tests/world), run by
package_test.sh inside a private network namespace after `apt-get install`:
  - `mtastsd --query` with the packaged /etc/mtastsd/mtastsd.conf (plus the world's DNS server
    and CA as -o overrides): good.test has a policy (exit 0), norecord.test none (exit 1);
  - the daemon as the package runs it: started as root with the packaged config, it switches
    to the packaged user mtastsd, keeps its store in the packaged /var/lib/mtastsd, answers a
    socketmap query, and stops cleanly on SIGTERM (so no installed daemon is left running).

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/packaging/installed_check.py --mtastsd /usr/sbin/mtastsd
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from daemon_harness import (SocketmapClient, free_port, start_world, stop_process, stop_world,  # noqa: E402
                            take_binary_arg, wait_listening)
from scenarios import NOTFOUND, secure  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
CONFIG = "/etc/mtastsd/mtastsd.conf"
STATE = "/var/lib/mtastsd"
WORLD = None
CA_DIR = None


def setUpModule():
    global WORLD, CA_DIR
    WORLD = start_world(MTASTSD)
    # The world's files are root-only; the daemon reads the CA after switching to mtastsd.
    CA_DIR = tempfile.mkdtemp(prefix="mtastsd-pkg-ca-")
    os.chmod(CA_DIR, 0o755)
    shutil.copy(WORLD.ca_file, os.path.join(CA_DIR, "ca.pem"))
    os.chmod(os.path.join(CA_DIR, "ca.pem"), 0o644)


def tearDownModule():
    stop_world(WORLD)
    if CA_DIR:
        shutil.rmtree(CA_DIR, ignore_errors=True)


def world_options():
    return ["-o", f"dns_servers={WORLD.dns_server}", "-o", f"ca_file={CA_DIR}/ca.pem",
            "-o", "dns_timeout=2s", "-o", "fetch_timeout=3s"]


class InstalledQueryTest(unittest.TestCase):
    def query(self, domain):
        p = subprocess.run([MTASTSD, "-c", CONFIG] + world_options() + ["--query", domain],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def test_query_finds_the_policy_of_an_enforcing_domain(self):
        code, out = self.query("good.test")
        self.assertEqual(code, 0, out)
        self.assertIn("mode: enforce", out)

    def test_query_of_a_domain_without_record_says_no_policy(self):
        code, out = self.query("norecord.test")
        self.assertEqual(code, 1, out)


class InstalledDaemonTest(unittest.TestCase):
    def test_daemon_runs_as_the_packaged_user_with_the_packaged_state_dir(self):
        port = free_port()
        log_path = os.path.join(CA_DIR, "mtastsd.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([MTASTSD, "-c", CONFIG, "-o", f"listen=inet:127.0.0.1:{port}"]
                                    + world_options(), stdout=log, stderr=log,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            why = wait_listening(proc, port, 15)
            self.assertIsNone(why, self.log(log_path))
            with SocketmapClient(port) as c:
                self.assertEqual(c.query("good.test"), secure("mx.good.test", ".good.test"))
                self.assertEqual(c.query("norecord.test"), NOTFOUND)
            with open(f"/proc/{proc.pid}/status") as f:
                uid_line = next(line for line in f if line.startswith("Uid:"))
            self.assertEqual(int(uid_line.split()[1]), pwd.getpwnam("mtastsd").pw_uid, uid_line)
        finally:
            code = stop_process(proc)
        self.assertEqual(code, 0, self.log(log_path))
        store = os.path.join(STATE, "data.mdb")
        self.assertTrue(os.path.exists(store), f"no {store}:\n{self.log(log_path)}")
        self.assertEqual(pwd.getpwuid(os.stat(store).st_uid).pw_name, "mtastsd")

    @staticmethod
    def log(path):
        with open(path, errors="replace") as f:
            return "--- mtastsd log ---\n" + f.read()[-4000:]


if __name__ == "__main__":
    unittest.main(verbosity=2)
