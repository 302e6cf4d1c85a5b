"""Process-wide runtime settings shared by the server and the bulk-import workers."""

from __future__ import annotations

import gc


def settle_garbage_collector() -> None:
    """What start-up loaded (FHIR models, catalogues, search parameters: millions of objects) stays for the life
    of the process; frozen out of the collector's generations, a full collection no longer walks it during a
    burst of work (it showed as a tenth of a device-reading batch's CPU). Young generations are collected less
    often: requests and batches allocate many short-lived dicts."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


_serving = False


def mark_serving() -> None:
    """Called once a server process has started (not by tests, which share one process and roll back every test's
    data): process-level caches of reference data are only kept while serving."""
    global _serving
    _serving = True


def serving() -> bool:
    return _serving
