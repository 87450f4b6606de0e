"""A local Slack for tests and the demo: the Web API the bot calls, and people who use the bot.

Nothing here reads the vendored Slack data at runtime; the shapes were derived from it, and
``tests/test_slack_sim.py`` checks them against it.
"""

from sim.slack.people import SlackPerson
from sim.slack.records import (
    AppResponse,
    ResponseUrlPost,
    SimCall,
    SimEphemeral,
    SimMessage,
    SimView,
)
from sim.slack.simulator import SlackSimulator
from sim.slack.text import all_text

__all__ = [
    "AppResponse",
    "ResponseUrlPost",
    "SimCall",
    "SimEphemeral",
    "SimMessage",
    "SimView",
    "SlackPerson",
    "SlackSimulator",
    "all_text",
]
