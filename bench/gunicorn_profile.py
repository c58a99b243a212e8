"""gunicorn settings for ``bench/intake.py --profile``: each worker runs under cProfile and
writes its profile to $BENCH_PROFILE_DIR/worker-PID.prof when it exits."""

from __future__ import annotations

import cProfile
import os
import time
from typing import Any

_profiles: dict[int, cProfile.Profile] = {}


def post_fork(server: Any, worker: Any) -> None:
    # CPU time, not wall time: on a shared machine waiting is not where the cost is.
    profile = cProfile.Profile(time.process_time)
    _profiles[os.getpid()] = profile
    profile.enable()


def worker_exit(server: Any, worker: Any) -> None:
    profile = _profiles.pop(os.getpid(), None)
    if profile is not None:
        profile.disable()
        profile.dump_stats(
            os.path.join(os.environ["BENCH_PROFILE_DIR"], f"worker-{os.getpid()}.prof")
        )
