"""Percentiles, the median of runs and their spread, and the machine the figures came from."""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Runs:
    """One figure measured once per run: its median over the runs and their min and max."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Runs:
        return cls(tuple(values))

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    @property
    def low(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def high(self) -> float:
        return max(self.values) if self.values else math.nan

    def show(self, unit: str = "", digits: int = 1) -> str:
        """``12.3 ms [11.0–14.1]``: the median, then the spread over runs (none for one run)."""
        text = f"{self.median:.{digits}f}{unit}"
        if self.count > 1:
            text += f" [{self.low:.{digits}f}–{self.high:.{digits}f}]"
        return text


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else math.inf


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def machine(redis_version: str) -> str:
    """One line naming the machine and the software every figure was measured with."""
    packages = ", ".join(
        f"{name} {_version(name)}" for name in ("slack-bolt", "slack-sdk", "aiohttp", "redis")
    )
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB, "
        f"Linux {platform.release()}, Python {platform.python_version()}; {packages}; "
        f"Redis server {redis_version} on loopback"
    )
