"""Who hears about FHIR writes: the MPI always, plus what applications register.

Applications that keep their own projection of FHIR writes (e.g. result mutual recognition) append a factory
to `EXTRA_LISTENER_FACTORIES` at import; every writer — a /fhir request, an ingest batch, an HL7 message —
gets fresh listeners from `write_listeners`. Platform code cannot import apps, hence the list.
"""

from __future__ import annotations

from collections.abc import Callable

from jizuo.fhir.service import WriteListener
from jizuo.platform.mpi.listener import MpiListener

EXTRA_LISTENER_FACTORIES: list[Callable[[], WriteListener]] = []


def write_listeners(actor: str | None = None, *, link_patients: bool = True) -> list[WriteListener]:
    """`link_patients=False` leaves Patients to a set-wise `link-pending` run after the caller commits."""
    mpi: list[WriteListener] = [MpiListener(actor)] if link_patients else []
    return [*mpi, *(make() for make in EXTRA_LISTENER_FACTORIES)]
