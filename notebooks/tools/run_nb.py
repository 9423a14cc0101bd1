#!/usr/bin/env python3
"""Execute a notebook headlessly with nbclient and save it, outputs included.

Usage: run_nb.py IN.ipynb OUT.ipynb [--timeout S] [--allow-errors] [--drain-ms MS] [--kernel NAME] [--cwd DIR]
Exit status: 0 ok, 1 a cell raised an error, 2 the kernel died or a cell timed out, 3 bad usage or input.

Why not `jupyter nbconvert --execute`: the Deno 2.9 kernel sometimes publishes IOPub outputs (console.log,
execute_result, display_data) a few milliseconds *after* its `status: idle` message, and nbclient stops
reading at idle, so those outputs silently vanish from the saved notebook (measured in NOTEBOOKS.md, section 1:
up to 4 lost outputs per 40-cell run). This client keeps reading IOPub for --drain-ms after each idle; with
100 ms it lost none of 480 cell executions. The kernel runs in --cwd (default: the notebook's folder), so
relative imports in cells resolve as they do in JupyterLab.
"""
import argparse
import asyncio
import os
import sys
from queue import Empty
from time import monotonic

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async


class DrainingClient(NotebookClient):
    """NotebookClient that keeps reading a cell's IOPub messages for a while after the kernel reports idle."""

    drain_seconds = 0.1

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        deadline = monotonic() + self.drain_seconds
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                return
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
            except (Empty, asyncio.TimeoutError):
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    p.add_argument("--allow-errors", action="store_true", help="keep running after a cell error")
    p.add_argument("--drain-ms", type=int, default=100, help="IOPub drain after each idle (default 100)")
    p.add_argument("--kernel", default=None, help="kernel name (default: the notebook's kernelspec)")
    p.add_argument("--cwd", default=None, help="kernel working directory (default: the notebook's folder)")
    a = p.parse_args()
    try:
        nb = nbformat.read(a.input, as_version=4)
    except Exception as e:  # noqa: BLE001 - any unreadable input is a usage error
        print(f"Cannot read notebook {a.input}: {e}", file=sys.stderr)
        return 3
    kernel = a.kernel or nb.metadata.get("kernelspec", {}).get("name")
    if not kernel:
        print(f"Notebook {a.input} names no kernel: set metadata.kernelspec.name or pass --kernel", file=sys.stderr)
        return 3
    client = DrainingClient(
        nb,
        timeout=a.timeout,
        kernel_name=kernel,
        allow_errors=a.allow_errors,
        resources={"metadata": {"path": os.path.abspath(a.cwd or os.path.dirname(os.path.abspath(a.input)))}},
    )
    client.drain_seconds = a.drain_ms / 1000
    status = 0
    try:
        client.execute()
    except CellExecutionError as e:
        print(f"Cell error in {a.input}:\n{e}", file=sys.stderr)
        status = 1
    except (CellTimeoutError, DeadKernelError) as e:
        print(f"Kernel failure in {a.input}: {type(e).__name__}: {e}", file=sys.stderr)
        status = 2
    finally:
        nbformat.write(nb, a.output)
    return status


if __name__ == "__main__":
    sys.exit(main())
