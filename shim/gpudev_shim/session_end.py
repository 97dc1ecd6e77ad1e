"""A process session inside a Slurm job, ended with the job: its folders removed, then its record taken
out of the GPU's journal, under the GPU's lock (the same flock the extension and the CLI take).

Run by the session's keeper step when Slurm signals the job's end (python3 -I -S session_end.py
<journal dir> <gpu uuid> <session>). Every path is made here from the journal folder and names checked
against the patterns the extension uses; a record with any change that does not end with the job (a
clock lock, a MIG slice) is left for `gpudev cosplay cleanup`, which undoes it.
"""

import fcntl
import json
import os
import re
import shutil
import sys
import time

SESSION_NAME = re.compile(r"^gpudev-[a-zA-Z0-9_.-]{1,100}$")
GPU_UUID = re.compile(r"^GPU-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ENDS_WITH_THE_JOB = {"mpsDaemon", "processSession"}
LOCK_WAIT_S = 20


def locked(lock_file):
    handle = open(lock_file, "a")
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            if time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(0.2)


def without_session(journal, name):
    """The journal without the session, or None when its record holds a change to leave for cleanup."""
    sessions = journal.get("sessions")
    if not isinstance(sessions, list):
        return None
    mine = [s for s in sessions if isinstance(s, dict) and s.get("name") == name]
    for session in mine:
        for step in session.get("steps") or []:
            if not isinstance(step, dict) or (step.get("change") or {}).get("kind") not in ENDS_WITH_THE_JOB:
                return None
    return dict(journal, sessions=[s for s in sessions if s not in mine])


def end_session(journal_dir, gpu_uuid, name):
    if not (SESSION_NAME.match(name) and GPU_UUID.match(gpu_uuid) and ".." not in name):
        return "not a session name or GPU UUID"
    journal_file = os.path.join(journal_dir, gpu_uuid + ".json")
    lock = locked(os.path.join(journal_dir, gpu_uuid + ".lock"))
    if lock is None:
        return "the GPU's lock stayed taken"
    try:
        try:
            with open(journal_file) as f:
                journal = json.load(f)
        except FileNotFoundError:
            journal = {"sessions": []}
        if not isinstance(journal, dict) or journal.get("gpuUuid", gpu_uuid) != gpu_uuid:
            return "the journal is not this GPU's"
        rest = without_session(journal, name)
        if rest is None:
            return "the session changed more than its own processes: left for cleanup"
        for folder in ("sessions", "mps"):
            shutil.rmtree(os.path.join(journal_dir, folder, name), ignore_errors=True)
        if rest == journal:
            return None
        if rest["sessions"] or rest.get("gpuWide"):
            with open(journal_file + ".tmp", "w") as f:
                json.dump(rest, f, indent=1)
                f.write("\n")
            os.replace(journal_file + ".tmp", journal_file)
        else:
            os.unlink(journal_file)
        return None
    finally:
        lock.close()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: session_end.py <journal dir> <gpu uuid> <session>")
    problem = end_session(*sys.argv[1:])
    if problem:
        sys.exit("gpudev: %s not cleared: %s" % (sys.argv[3], problem))
