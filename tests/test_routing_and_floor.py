"""Where cards go (routing rules), and the supervisors' one-line-per-transition channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from blocks.ids import ActionId
from bot.routing import router_from
from bot.settings import Settings, SettingsError
from sim.slack import all_text
from tests.harness import bot_settings, bot_world, eventually
from tests.test_closing import accepted_by, closed_card
from tests.test_end_to_end import submit_complete

RULES = json.dumps(
    [
        {"channel": "{cardiology}", "payer_id": "payer_aetna"},
        {"channel": "{pharmacy}", "request_type": "drug"},
        {"channel": "{oncology}", "metadata": {"serviceLine": "oncology"}},
    ]
)


async def test_routing_rules_send_each_offer_to_its_channel() -> None:
    channels = ("cardiology", "pharmacy", "oncology")
    async with bot_world(channels=channels, routing_rules=RULES) as world:
        world.collate.add_authorization(review=False, payer_id="payer_aetna", case_id="CASE-A")
        world.collate.add_authorization(
            review=False,
            payer_id="payer_cigna",
            metadata={"serviceLine": "oncology"},
            case_id="CASE-O",
        )
        other = world.collate.add_authorization(
            review=False, payer_id="payer_humana", case_id="CASE-D"
        )
        drug = other["request"]["requestType"] == "drug"

        await world.poll()

        def cases(channel: str) -> str:
            return " ".join(all_text(card) for card in world.slack.messages(channel))

        assert "CASE-A" in cases(world.ids["cardiology"])
        assert "CASE-O" in cases(world.ids["oncology"])
        assert "CASE-D" in cases(world.ids["pharmacy"] if drug else world.channel)
        assert "CASE-A" not in cases(world.channel)


@pytest.mark.parametrize(
    ("rules", "complaint"),
    [
        ("not json", "ROUTING_RULES is not valid JSON"),
        ('[{"channel": "C123"}]', "needs payer_id, request_type or metadata"),
        ('[{"channel": "general", "payer_id": "p"}]', "rule 0.channel"),
        ('[{"channel": "C123", "request_type": "dental"}]', "rule 0.request_type"),
        ('[{"channel": "C123", "payr_id": "p"}]', "rule 0.payr_id"),
    ],
)
def test_bad_routing_rules_stop_start_up_with_one_line(rules: str, complaint: str) -> None:
    settings = _settings(routing_rules=rules)
    with pytest.raises(SettingsError) as raised:
        router_from(settings)
    assert complaint in str(raised.value)
    assert "\n" not in str(raised.value)


def test_rules_from_a_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "rules.json")
    with open(path, "w", encoding="utf-8") as file:
        file.write('[{"channel": "C0DRUGS", "request_type": "drug"}]')
    assert router_from(_settings(routing_rules_file=path)).channels == {"C0DRUGS", "C0DEFAULT"}
    with pytest.raises(SettingsError, match="ROUTING_RULES_FILE cannot be read"):
        router_from(_settings(routing_rules_file=path + ".missing"))


def _settings(**values: str) -> Settings:
    return bot_settings(
        collate_url="http://127.0.0.1:9",
        slack_url="http://127.0.0.1:9/api/",
        channel="C0DEFAULT",
        prefix="unit",
        **values,
    )


@pytest.mark.parametrize(
    ("environment", "line"),
    [
        ({}, "configuration error: SLACK_BOT_TOKEN is not set"),
        ({"POLL_INTERVAL_SECONDS": "soon"}, "POLL_INTERVAL_SECONDS is invalid"),
        ({"HANDOFF_CHANNEL": "#handoffs"}, "HANDOFF_CHANNEL is invalid"),
        ({"ROUTING_RULES": "[{}]"}, "ROUTING_RULES rule 0.channel"),
    ],
)
def test_run_refuses_a_bad_setting_with_one_line_naming_it(
    environment: dict[str, str], line: str
) -> None:
    base = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "COLLATE_API_KEY": "k",
        "COLLATE_BASE_URL": "http://127.0.0.1:9",
        "HANDOFF_CHANNEL": "C0DEFAULT",
    }
    env = {"PATH": os.environ["PATH"], **({} if not environment else base), **environment}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert line in result.stderr


async def test_the_supervisors_channel_gets_one_line_per_transition() -> None:
    async with bot_world(channels=("floor",), supervisor_channel="{floor}") as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-4242")
        world.collate.set_reconcile_result("completed:approved", auth["id"])
        await submit_complete(world, maria, card, outcome="decision_observed")
        await closed_card(world)
        world.collate.advance(1.0)
        await eventually(lambda: world.collate.authorization(auth["id"])["status"] == "completed")
        await world.poll()

        lines = world.slack.messages(world.ids["floor"])

        assert len(lines) == 5, [line.text for line in lines]
        texts = [all_text(line) for line in lines]
        assert all("CASE-4242" in text for text in texts)
        assert all(f"/archives/{world.channel}/p" in str(line.blocks) for line in lines)
        assert f"<@{maria.id}>" in texts[1]
        assert "approved" in texts[-1].lower()
        assert ActionId.ACCEPT.value not in str([line.blocks for line in lines])
