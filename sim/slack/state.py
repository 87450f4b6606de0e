"""Everything a Web API method may read or change, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.slack.args import Args
from sim.slack.blockkit import BlockChecker
from sim.slack.capabilities import ResponseUrlBook, TriggerBook
from sim.slack.clock import SimClock
from sim.slack.faults import FaultPlan
from sim.slack.workspace import Workspace


@dataclass
class SimState:
    workspace: Workspace
    clock: SimClock
    triggers: TriggerBook
    response_urls: ResponseUrlBook
    faults: FaultPlan
    bot_token: str
    app_token: str
    root_url: str = ""
    issue_socket_url: Callable[[], str] | None = None
    block_checker: BlockChecker | None = None


Method = Callable[[SimState, Args], dict[str, Any]]
