"""The command line works as README writes it: `make` leaves the private services' addresses in
the instance folder's `.env`, and the app reads them for the variables that are not set."""
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from apoa.config import build_config, process_environment
from apoa.demo.seed import seed_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
FLASK = ".venv/bin/flask --app apoa "
LOOKUP = FLASK + "regions lookup 106.8271 -6.1754"
# The README sections whose every command is run here, in order, as after `make run`.
SECTIONS = ("Regions", "Offices and users", "Personal data (UU PDP 27/2022)")
PASSWORD = "kata-sandi-yang-panjang"
README_REGIONS = "../shared/data/regions"


def write_env_file(folder, **values):
    (folder / ".env").write_text("".join(f"{name}={value}\n" for name, value in values.items()))


def test_the_instance_env_file_fills_in_what_is_not_set(tmp_path, monkeypatch):
    write_env_file(tmp_path, APOA_DATABASE_URL="postgresql://postgres@127.0.0.1:1/from_file",
                   APOA_REDIS_URL="redis://127.0.0.1:2/0")
    monkeypatch.setenv("APOA_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("APOA_ENV", raising=False)
    monkeypatch.delenv("APOA_DATABASE_URL", raising=False)
    monkeypatch.setenv("APOA_REDIS_URL", "redis://127.0.0.1:3/0")
    config = build_config()
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("@127.0.0.1:1/from_file")
    assert config["REDIS_URL"] == "redis://127.0.0.1:3/0"  # a variable that is set always wins


def test_production_never_reads_the_instance_env_file(tmp_path, monkeypatch):
    write_env_file(tmp_path, APOA_DATABASE_URL="postgresql://postgres@127.0.0.1:1/from_file")
    monkeypatch.setenv("APOA_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("APOA_ENV", "production")
    monkeypatch.delenv("APOA_DATABASE_URL", raising=False)
    assert "APOA_DATABASE_URL" not in process_environment()


def readme_sections():
    """{section title: its text} of README's `## ` sections."""
    parts = re.split(r"^## (.+)$", README.read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def code_lines(text):
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [line for block in blocks for line in block.splitlines()]


def documented_output(command):
    """The `# ` lines that follow `command` in README's code: the output README promises."""
    lines = code_lines(README.read_text())
    start = lines.index(command) + 1
    output = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        output.append(line[2:].split())
    return output


def test_the_readme_lookup_runs_as_written_from_the_instance_env_file(database_url, tmp_path):
    """A real `.venv/bin/flask` process, with no APOA_* variable but the instance folder's."""
    write_env_file(tmp_path, APOA_DATABASE_URL=database_url.render_as_string(hide_password=False),
                   APOA_REDIS_URL=os.environ["APOA_REDIS_URL"])
    environ = {name: value for name, value in os.environ.items() if not name.startswith("APOA_")}
    result = subprocess.run(shlex.split(LOOKUP), cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**environ, "APOA_INSTANCE_DIR": str(tmp_path)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()] == documented_output(LOOKUP)


def readme_commands():
    sections = readme_sections()
    return [line for title in SECTIONS for line in code_lines(sections[title])
            if line.startswith(FLASK)]


def with_regions_here(command, regions_dir):
    """README writes the regions' folder as it lies beside a checkout (../shared/data/regions); a
    clone elsewhere (CI) finds it where APOA_REGIONS_DIR says, so the command is run with that."""
    if (REPO_ROOT / README_REGIONS).is_dir():
        return command
    return command.replace(README_REGIONS, str(regions_dir))


@pytest.mark.slow
def test_every_command_of_readme_works_as_written(runner, app):
    commands = readme_commands()
    assert LOOKUP in commands and len(commands) >= 10
    seed_demo(report_count=5)  # what `make run` leaves: the demo's offices and users
    for command in commands:
        command = with_regions_here(command, app.config["REGIONS_DIR"])
        answer = runner.invoke(args=shlex.split(command, comments=True)[3:],
                               input=f"{PASSWORD}\n{PASSWORD}\n")
        assert answer.exit_code == 0, f"{command}\n{answer.output}"
