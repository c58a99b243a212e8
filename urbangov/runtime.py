"""Long-running processes: the web server and the background worker."""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger("urbangov.runtime")


def serve(args: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="urbangov serve", description="Serve the web app with gunicorn."
    )
    parser.add_argument("--bind", default=os.environ.get("URBANGOV_BIND", "127.0.0.1:8000"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("URBANGOV_THREADS", "1")))
    parser.add_argument("--access-log", action="store_true", help="log every request")
    options = parser.parse_args(args)

    from gunicorn.app.base import BaseApplication

    # Collected before the app loads, so that whitenoise finds the folder at start-up.
    call_command("collectstatic", interactive=False, verbosity=0)

    from urbangov.wsgi import application

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", options.bind)
            self.cfg.set("workers", options.workers)
            self.cfg.set("threads", options.threads)
            self.cfg.set("worker_class", "gthread" if options.threads > 1 else "sync")
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 20)
            if options.access_log:
                self.cfg.set("accesslog", "-")

        def load(self) -> Any:
            return application

    print(f"urbangov serving on http://{options.bind}", flush=True)
    Server().run()


def run_periodic(stop: threading.Event) -> None:
    """Run each configured periodic job every so many seconds until ``stop`` is set."""
    jobs = [(import_string(path), float(every), path) for path, every in settings.PERIODIC_JOBS]
    due = dict.fromkeys((path for _, _, path in jobs), 0.0)
    while not stop.is_set():
        now = time.monotonic()
        for job, every, path in jobs:
            if now >= due[path]:
                try:
                    job()
                except Exception:
                    logger.exception("periodic job %s failed", path)
                finally:
                    close_old_connections()
                due[path] = time.monotonic() + every
        stop.wait(0.5)


def worker(args: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="urbangov worker", description="Run background tasks and periodic jobs."
    )
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls for tasks"
    )
    parser.add_argument("--no-periodic", action="store_true", help="run queued tasks only")
    options = parser.parse_args(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    stop = threading.Event()
    if not options.no_periodic:
        threading.Thread(target=run_periodic, args=(stop,), daemon=True, name="periodic").start()
    backend = settings.TASKS["default"]["BACKEND"]
    if backend == "django_tasks_db.DatabaseBackend":
        call_command("db_worker", interval=options.interval, verbosity=1)
    else:
        logger.info("task backend %s needs no worker here; running periodic jobs only", backend)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    stop.set()
