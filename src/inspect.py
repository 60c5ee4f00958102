"""``python -m src.inspect [DIR ...]``: every study in one HiPlot page, served by HiPlot's own web server.

Each DIR is a run, grid or sweep dir, or a folder of them (by default ``outputs/``, every
study in it, newest first); several merge into one parallel-coordinates experiment. The
server listens on 127.0.0.1 only; Ctrl-C stops it.
"""
import argparse
import json
import signal
import socket
import sys
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from . import layout
from .errors import UserError, refuse
from .logs import to_console
from .reporting.present.fetcher import fetch, read_studies
from .reporting.read.study import studies_under
from .words import counted

DEFAULT_DIR = Path("outputs")
HOST = "127.0.0.1"
NOUNS = {"single": "run", "grid": "grid", "sweep": "sweep"}  # a result folder's kind, as the first line counts it


def check_port(port, host=HOST):
    """Raise a `UserError` when ``port`` cannot be listened on (in use, or not a port)."""
    if not 0 < port < 65536:
        raise UserError(f"--port must be in 1..65535, got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(f"port {port} on {host} is not free ({exc.strerror}); choose another with --port") from None


def page_url(dirs, port, host=HOST):
    """The address that opens HiPlot's page with ``dirs`` loaded (HiPlot reads ``hip.load_uri``)."""
    folders = [str(Path(d).resolve()) for d in dirs]
    uri = folders[0] if len(folders) == 1 else json.dumps(folders)
    return f"http://{host}:{port}/?hip.load_uri={quote(json.dumps(uri))}"


def main(argv=None):
    """Command line entry point; returns the exit status (2 for bad input)."""
    to_console()
    parser = argparse.ArgumentParser(prog="python -m src.inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path, help=f"run, grid or sweep dirs (default: {DEFAULT_DIR}/)")
    parser.add_argument("--port", type=int, default=5005, help="the port on 127.0.0.1 (default 5005)")
    args = parser.parse_args(argv)
    dirs = args.dirs or [DEFAULT_DIR]
    try:
        read = [read_studies(d) for d in dirs]  # every folder must hold results before the server starts
        lines = sum(len(rows) for rows, _ in read)
        skipped = [item for _, items in read for item in items]
        passed = {study for study, _ in skipped}
        kinds = Counter(layout.kind_of(study) for d in dirs for study in studies_under(d) if study not in passed)
        check_port(args.port)
    except UserError as exc:
        return refuse(exc)
    from hiplot.server import run_server

    found = ", ".join(counted(n, NOUNS[kind]) for kind, n in sorted(kinds.items()))
    for study, why in skipped:
        print(f"skipped {study}: {why} (unfinished or damaged; python -m src.report {study} rebuilds its tables "
              f"where its fits are whole)", flush=True)
    print(f"{found}, {counted(lines, 'line')}; open {page_url(dirs, args.port)}\n"
          f"(Ctrl-C stops the server)", flush=True)
    # The server runs in a thread; this one only waits for Ctrl-C (or SIGTERM), so that the
    # signal is never caught halfway through the server's own work.
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    server = threading.Thread(target=run_server, args=([fetch],), kwargs={"host": HOST, "port": args.port},
                              name="hiplot-server", daemon=True)
    server.start()
    while not stop.wait(0.5) and server.is_alive():
        pass
    if not stop.is_set():
        print("error: the HiPlot server stopped by itself (see above)", file=sys.stderr, flush=True)
        return 1
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
