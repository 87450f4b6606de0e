"""The fault suite's control: the same flows with nothing going wrong, in this process and as a
separate bot process started with the real CLI."""

from __future__ import annotations

import pytest

from tests.faults import flow
from tests.faults.kit import FaultKit

pytestmark = pytest.mark.faults


async def test_the_whole_flow_in_process(kit: FaultKit) -> None:
    stage = await kit.stage()
    offer = stage.offer()
    await flow.card_posted(stage, offer)
    await flow.whole_flow(stage, offer, stage.person("maria"))
    await stage.audit()


async def test_the_whole_flow_as_a_bot_process(kit: FaultKit) -> None:
    stage = await kit.stage(processes=True)
    await stage.start_process()
    offer = stage.offer()
    await flow.card_posted(stage, offer)
    await flow.whole_flow(stage, offer, stage.person("maria"))
    await stage.audit()
