"""session_end.py: a job's process session cleared from the journal when the job ends, as a program."""
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "gpudev_shim", "session_end.py"))
UUID = "GPU-11111111-2222-3333-4444-555555555555"
MINE = "gpudev-rtx3090-gpu0-abc123"
OTHER = "gpudev-rtx4090-gpu0-def456"


def session(name, *kinds):
    return {"name": name, "owner": "me@laptop", "steps": [{"change": {"kind": k}, "state": "done"} for k in kinds]}


class SessionEndTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gpudev-journal-")
        self.file = os.path.join(self.dir, UUID + ".json")
        for folder in ("sessions", "mps"):
            os.makedirs(os.path.join(self.dir, folder, MINE))
            os.makedirs(os.path.join(self.dir, folder, OTHER))

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir], check=True)

    def write(self, *sessions, gpu_wide=()):
        with open(self.file, "w") as f:
            json.dump({"version": 1, "gpuUuid": UUID, "gpuWide": list(gpu_wide), "sessions": list(sessions)}, f)

    def end(self, name=MINE, uuid=UUID):
        return subprocess.run([sys.executable, "-I", "-S", SCRIPT, self.dir, uuid, name], capture_output=True, text=True, timeout=60)

    def exists(self, folder, name):
        return os.path.isdir(os.path.join(self.dir, folder, name))

    def test_the_session_and_its_folders_go_and_the_other_session_stays(self):
        self.write(session(MINE, "mpsDaemon", "processSession"), session(OTHER, "container"))
        done = self.end()
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(self.file) as f:
            self.assertEqual([s["name"] for s in json.load(f)["sessions"]], [OTHER])
        self.assertFalse(self.exists("sessions", MINE) or self.exists("mps", MINE))
        self.assertTrue(self.exists("sessions", OTHER) and self.exists("mps", OTHER))

    def test_a_journal_left_empty_is_removed(self):
        self.write(session(MINE, "processSession"))
        self.assertEqual(self.end().returncode, 0)
        self.assertFalse(os.path.exists(self.file))

    def test_gpu_wide_changes_keep_the_file(self):
        self.write(session(MINE, "processSession"), gpu_wide=[{"change": {"kind": "persistence"}, "state": "done"}])
        self.assertEqual(self.end().returncode, 0)
        with open(self.file) as f:
            self.assertEqual(json.load(f)["sessions"], [])

    def test_a_change_that_outlives_the_job_is_left_for_cleanup(self):
        self.write(session(MINE, "processSession", "clockLock"))
        done = self.end()
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("left for cleanup", done.stderr)
        with open(self.file) as f:
            self.assertEqual([s["name"] for s in json.load(f)["sessions"]], [MINE])
        self.assertTrue(self.exists("sessions", MINE), "nothing removed")

    def test_names_that_are_not_ours_are_refused(self):
        self.write(session(MINE, "processSession"))
        for name, uuid in (("../../etc", UUID), ("gpudev-..", UUID), (MINE, "GPU-../x")):
            done = self.end(name, uuid)
            self.assertNotEqual(done.returncode, 0, name)
        self.assertTrue(os.path.exists(self.file))

    def test_it_waits_for_the_gpu_lock(self):
        self.write(session(MINE, "processSession"))
        with open(os.path.join(self.dir, UUID + ".lock"), "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            child = subprocess.Popen([sys.executable, "-I", "-S", SCRIPT, self.dir, UUID, MINE])
            with self.assertRaises(subprocess.TimeoutExpired):
                child.wait(timeout=1)
            self.assertTrue(os.path.exists(self.file), "nothing changed while the lock is held")
        self.assertEqual(child.wait(timeout=30), 0)
        self.assertFalse(os.path.exists(self.file))


if __name__ == "__main__":
    unittest.main()
