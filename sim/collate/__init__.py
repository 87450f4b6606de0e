"""A simulator of Collate's prior-authorization API, for tests, the demo and the sandbox."""

from sim.collate.control import SimControl, SimControlFailed
from sim.collate.errors import SimControlError
from sim.collate.recording import RecordedRequest
from sim.collate.server import CollateSimulator
from sim.collate.settings import SimSettings

__all__ = [
    "CollateSimulator",
    "RecordedRequest",
    "SimControl",
    "SimControlError",
    "SimControlFailed",
    "SimSettings",
]
