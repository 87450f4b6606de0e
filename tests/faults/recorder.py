"""What the fault suite measured, across the whole session, for the closing table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ACK_LIMIT_SECONDS = 3.0


@dataclass
class Ack:
    what: str
    seconds: float
    status: int
    test: str

    @property
    def late(self) -> bool:
        """Over the limit, or no answer at all in time (status 0, as Slack would see it)."""
        return self.seconds > ACK_LIMIT_SECONDS or self.status == 0


@dataclass
class Recorder:
    tests_run: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    flows_completed: int = 0
    duplicate_handoffs: int = 0
    lost_cards: int = 0
    leaked_secrets: int = 0
    acks: list[Ack] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One line per counted problem (test, what), printed under the table."""
    current_test: str = ""

    def fault(self, kind: str, count: int = 1) -> None:
        self.faults[kind] += count

    def ack(self, what: str, seconds: float, status: int) -> Ack:
        ack = Ack(what, seconds, status, self.current_test)
        self.acks.append(ack)
        if ack.late:
            self.problems.append(
                f"{self.current_test}: ack over {ACK_LIMIT_SECONDS:g} s "
                f"({what}: {seconds:.2f} s, status {status})"
            )
        return ack

    def late_acks(self, test: str | None = None) -> list[Ack]:
        return [ack for ack in self.acks if ack.late and (test is None or ack.test == test)]

    def table(self) -> list[str]:
        injected = sum(self.faults.values())
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items()))
        slowest = max((ack.seconds for ack in self.acks), default=0.0)
        rows = [
            ("fault tests run", str(self.tests_run)),
            ("faults injected", f"{injected}" + (f"  ({kinds})" if kinds else "")),
            ("flows completed", str(self.flows_completed)),
            ("duplicate handoffs", str(self.duplicate_handoffs)),
            ("lost cards", str(self.lost_cards)),
            ("leaked secrets", str(self.leaked_secrets)),
            (
                f"acks over {ACK_LIMIT_SECONDS:g} s",
                f"{len(self.late_acks())}  (of {len(self.acks)} timed; slowest {slowest:.2f} s)",
            ),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines.extend(f"  ! {problem}" for problem in self.problems)
        return lines


RECORDER = Recorder()
"""The session's one recorder (the conftest's fixtures and its terminal summary share it)."""
