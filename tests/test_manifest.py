"""``manifest.yml`` is a valid Slack app manifest that asks for no more than the bot uses.

Validated offline against Slack's published manifest schema (``slackapi/manifest-schema``, vendored
in ``../shared/vendor``), both directly and through its version router. The vendored good and bad
manifests prove the validator accepts and rejects what it should.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.vendor import load_json, vendor_dir

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "manifest.yml"

SCHEMA_DIR = "slack-manifest-schema/schemas"
V1_SCHEMA = "manifest.schema.1.0.0.json"
V2_SCHEMA = "manifest.schema.2.0.0.json"
ROUTER_SCHEMA = "slack-manifest-schema/manifest.schema.json"
# Where the router's remote $refs point; served from the vendored files, never fetched.
REMOTE_SCHEMA_BASE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"

NODE_SDK_MANIFESTS = (
    "admin-app.manifest.json",
    "main-bot-app.manifest.json",
    "slack-connect-receiver.manifest.json",
    "slack-connect-sender.manifest.json",
    "socket-mode-app.manifest.json",
)

LEAST_PRIVILEGE_BOT_SCOPES = {"chat:write", "im:write", "usergroups:read"}
# Every Web API method the bot calls that needs a scope (slack-platform.md §11). The views.*,
# auth.test and blocks.validate calls need none.
METHODS_NEEDING_SCOPES = (
    "chat.postMessage",
    "chat.update",
    "chat.delete",
    "chat.postEphemeral",
    "conversations.open",
    "usergroups.users.list",
)

# The documented gap in Slack's schema: it spells this check with a non-standard keyword.
BACKGROUND_COLOR = re.compile(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def v1_validator() -> Draft7Validator:
    schema = load_json(f"{SCHEMA_DIR}/{V1_SCHEMA}")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def router_validator() -> Draft7Validator:
    resources = [
        (
            REMOTE_SCHEMA_BASE + name,
            Resource.from_contents(load_json(f"{SCHEMA_DIR}/{name}"), default_specification=DRAFT7),
        )
        for name in (V1_SCHEMA, V2_SCHEMA)
    ]
    # A Registry without a `retrieve` callable cannot reach the network: an unmapped URL would
    # raise instead of being downloaded.
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = load_json(ROUTER_SCHEMA)
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=registry)


@pytest.fixture(params=["v1", "router"])
def validator(
    request: pytest.FixtureRequest,
    v1_validator: Draft7Validator,
    router_validator: Draft7Validator,
) -> Draft7Validator:
    return v1_validator if request.param == "v1" else router_validator


def error_messages(validator: Draft7Validator, instance: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(instance)]


# -- the schema and its examples: the validator accepts and rejects what it should -------------


def test_our_manifest_is_valid(validator: Draft7Validator, manifest: dict[str, Any]) -> None:
    assert error_messages(validator, manifest) == []


def test_vendored_invalid_v1_example_is_rejected(validator: Draft7Validator) -> None:
    invalid = load_json("slack-manifest-schema/examples/v1/manifest.invalid.json")

    assert not validator.is_valid(invalid)


def test_vendored_invalid_v1_example_is_rejected_for_its_unknown_key(
    v1_validator: Draft7Validator,
) -> None:
    invalid = load_json("slack-manifest-schema/examples/v1/manifest.invalid.json")

    errors = list(v1_validator.iter_errors(invalid))

    assert len(errors) == 1
    assert list(errors[0].absolute_path) == ["settings"]
    assert "'bad_param' was unexpected" in errors[0].message


def test_vendored_valid_v1_example_is_accepted(validator: Draft7Validator) -> None:
    valid = load_json("slack-manifest-schema/examples/v1/manifest.valid.json")

    assert error_messages(validator, valid) == []


@pytest.mark.parametrize("name", NODE_SDK_MANIFESTS)
def test_slack_integration_test_manifests_are_accepted(
    validator: Draft7Validator, name: str
) -> None:
    assert error_messages(validator, load_json(f"node-slack-sdk/manifests/{name}")) == []


def test_node_sdk_manifest_list_matches_the_vendored_folder() -> None:
    folder = vendor_dir() / "node-slack-sdk" / "manifests"

    assert sorted(path.name for path in folder.glob("*.manifest.json")) == list(NODE_SDK_MANIFESTS)


def test_router_sends_v2_manifests_to_the_v2_schema(
    v1_validator: Draft7Validator, router_validator: Draft7Validator
) -> None:
    valid = load_json("slack-manifest-schema/examples/v2/manifest.valid.json")
    invalid = load_json("slack-manifest-schema/examples/v2/manifest.invalid.json")

    assert router_validator.is_valid(valid)
    assert not router_validator.is_valid(invalid)
    # The v1 schema alone rejects a v2 manifest: the router really did pick the other schema.
    assert not v1_validator.is_valid(valid)


def _rename(section: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(manifest: dict[str, Any]) -> None:
        parent = manifest
        for key in section.split("."):
            parent = parent[key]
        parent[new] = parent.pop(old)

    return mutate


def _set(section: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(manifest: dict[str, Any]) -> None:
        parent = manifest
        for part in section.split("."):
            parent = parent[part]
        parent[key] = value

    return mutate


MUTATIONS = {
    "settings.socket_mode typo": _rename("settings", "socket_mode_enabled", "socket_mode"),
    "app_home key typo": _rename(
        "features.app_home", "messages_tab_enabled", "messages_tab_enable"
    ),
    "scopes as a string": _set("oauth_config.scopes", "bot", "chat:write im:write"),
    "long_description too short": _set(
        "display_information", "long_description", "Posts Collate handoffs."
    ),
    "name too long": _set("display_information", "name", "Collate Handoffs" * 3),
    "interactivity without is_enabled": _set("settings", "interactivity", {}),
    "event request_url not http(s)": _set(
        "settings.event_subscriptions", "request_url", "ws://example.test/slack/events"
    ),
}


@pytest.mark.parametrize("mutation", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_broken_copy_of_our_manifest_is_rejected(
    validator: Draft7Validator,
    manifest: dict[str, Any],
    mutation: Callable[[dict[str, Any]], None],
) -> None:
    broken = copy.deepcopy(manifest)
    mutation(broken)

    assert not validator.is_valid(broken)


def test_socket_mode_typo_is_reported_where_it_is(
    v1_validator: Draft7Validator, manifest: dict[str, Any]
) -> None:
    broken = copy.deepcopy(manifest)
    _rename("settings", "socket_mode_enabled", "socket_mode")(broken)

    errors = list(v1_validator.iter_errors(broken))

    assert [list(error.absolute_path) for error in errors] == [["settings"]]
    assert "'socket_mode' was unexpected" in errors[0].message


def test_http_mode_variant_described_in_the_comments_is_valid(
    validator: Draft7Validator, manifest: dict[str, Any]
) -> None:
    http_mode = copy.deepcopy(manifest)
    settings = http_mode["settings"]
    settings["socket_mode_enabled"] = False
    settings["interactivity"]["request_url"] = "https://handoffs.example.test/slack/events"
    settings["event_subscriptions"]["request_url"] = "https://handoffs.example.test/slack/events"

    assert error_messages(validator, http_mode) == []


def test_comments_explain_http_mode_and_the_optional_scope() -> None:
    comments = "\n".join(
        line.strip()
        for line in MANIFEST_PATH.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("#")
    )

    assert "socket_mode_enabled: false" in comments
    assert "https://<host>/slack/events" in comments
    assert "OPERATOR_GROUP" in comments
    assert "SUPERVISOR_GROUP" in comments


# -- what this bot's manifest promises ----------------------------------------------------------


def test_scopes_are_exactly_the_least_privilege_set(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]

    assert set(scopes) == {"bot"}, "no user, optional or user_optional scopes"
    assert sorted(scopes["bot"]) == sorted(LEAST_PRIVILEGE_BOT_SCOPES)


def test_every_scope_is_used_and_every_call_is_covered(manifest: dict[str, Any]) -> None:
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    events = {event["name"]: event for event in load_json("slack-api-ref/events/events.json")}
    used: set[str] = set()

    for method in METHODS_NEEDING_SCOPES:
        accepted = set(load_json(f"slack-api-ref/methods/{method}.json")["scope"]["bot"])
        assert granted & accepted, f"{method} needs one of {sorted(accepted)}"
        used |= granted & accepted
    for name in manifest["settings"]["event_subscriptions"]["bot_events"]:
        required = set(events[name]["scopes"])
        assert required <= granted, f"event {name} needs {sorted(required)}"
        used |= required

    assert used == granted


def test_subscribes_only_to_user_group_membership_changes(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["subteam_members_changed"]


def test_socket_mode_and_interactivity_are_on(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]

    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    # Socket Mode apps receive everything over the WebSocket; a request URL would be ignored.
    assert "request_url" not in settings["interactivity"]
    assert "request_url" not in settings["event_subscriptions"]
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_app_home_allows_bot_dms_and_has_no_home_tab(manifest: dict[str, Any]) -> None:
    app_home = manifest["features"]["app_home"]

    assert app_home["messages_tab_enabled"] is True
    assert app_home["home_tab_enabled"] is False
    assert "app_home_opened" not in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_bot_user_and_display_information(manifest: dict[str, Any]) -> None:
    display = manifest["display_information"]

    assert display["name"] == "Collate Handoffs"
    assert display["description"].strip()
    assert BACKGROUND_COLOR.fullmatch(display["background_color"])
    assert manifest["features"]["bot_user"]["always_online"] is True
    assert manifest["_metadata"]["major_version"] == 1
