"""deploy/systemd/, the example deployment: a unit for every process the launcher starts, with the command it
starts it with, all of them in store.target, and an environment file that names only documented variables."""

import re
import shlex
import sys
from pathlib import Path

import pytest

from store import launcher, queues
from store.embedded import ROOT

UNITS = ROOT / "deploy" / "systemd"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections and keys, each key's values in order (ExecStart= may repeat; Wants= adds up)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}: cannot read {raw!r}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _units() -> dict[str, dict]:
    return {path.name: parse_unit(path) for path in UNITS.iterdir() if path.suffix in (".service", ".target")}


def _argv(exec_start: str, instance: str = "") -> list[str]:
    """ExecStart's command as the process gets it: systemd's %i is the instance, %% a percent sign."""
    argv = [re.sub(r"%(.)", lambda m: {"i": instance, "I": instance, "%": "%"}[m.group(1)], word)
            for word in shlex.split(exec_start)]
    assert argv[0].endswith("/.venv/bin/python"), "the units run the project's virtualenv"
    if not sys.platform.startswith("linux"):
        argv = [word for word in argv if word != "--reuse-port"]  # as gunicorn_command does elsewhere
    return argv[1:]


def _unit_for(units: dict, name: str, command: list[str]) -> str | None:
    """The unit (an instance of a template, for a worker) that starts ``command``, or None."""
    wanted = command[1:]  # the interpreter's path is the machine's
    for unit, sections in units.items():
        service = sections.get("Service", {})
        for exec_start in service.get("ExecStart", []):
            instances = queues.QUEUES if unit.endswith("@.service") else ("",)
            for instance in instances:
                if _argv(exec_start, instance) == wanted:
                    return unit.replace("@.", f"@{instance}.") if instance else unit
    return None


def test_every_process_the_launcher_starts_has_a_unit_with_its_command():
    units = _units()
    env = {"CELERY_QUEUES": queues.EACH, "WEB_CONCURRENCY": "5", "WEB_THREADS": "4"}
    started = launcher.processes("serve", env, "8000")
    assert {name for name, _, _ in started} >= {"web", "celery beat", *(f"celery worker ({q})" for q in queues.QUEUES)}
    found = {name: _unit_for(units, name, command) for name, command, _ in started}
    assert {name: unit for name, unit in found.items() if unit is None} == {}, "processes without a unit"
    wants = {unit for value in units["store.target"]["Unit"]["Wants"] for unit in value.split()}
    assert set(found.values()) <= wants, "store.target starts every process"
    assert "store-migrate.service" in wants


def test_the_default_worker_is_the_units_command_with_every_queue():
    """On one machine, one worker for every queue (make serve's default) is the template's command with the queues
    listed; the comment in the template says how."""
    units = _units()
    (group, command), = launcher.worker_commands({})
    exec_start = units["store-worker@.service"]["Service"]["ExecStart"][0]
    assert _argv(exec_start, ",".join(group))[:-1] == command[1:-1]  # all but the node's name


@pytest.mark.parametrize("unit", ["store-web.service", "store-beat.service", "store-worker@.service",
                                  "store-migrate.service"])
def test_each_unit_runs_after_the_migrations_as_the_store_user_with_its_environment(unit):
    service = _units()[unit]["Service"]
    assert service["User"] == ["store"] and service["EnvironmentFile"] == ["/etc/store/store.env"]
    if unit != "store-migrate.service":
        assert _units()[unit]["Unit"]["Requires"] == ["store-migrate.service"]
        assert service["Restart"] == ["always"]


def test_the_environment_file_names_only_variables_the_readme_documents():
    readme = (ROOT / "README.md").read_text()
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (UNITS / "store.env.example").read_text(), flags=re.M)
    assert names, "the example sets variables"
    assert [name for name in names if f"`{name}`" not in readme] == []
