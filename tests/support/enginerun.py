"""Running the real engine on a task folder, as the node server does: `python -m localnode.engine DIR`."""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class EngineRun:
    """What one engine process did."""
    code: int
    console: list      # stdout lines that are console lines
    progress: list     # the @@progress values in order
    errors: list       # the @@error messages
    stderr: str

    def text(self):
        """Console lines and errors as one string, for assertion messages."""
        return "\n".join(self.console + ["@@error " + e for e in self.errors]) + "\n" + self.stderr[-3000:]


def make_task(folder, photos, options=None):
    """A task folder holding copies of the photos (paths) and options.json."""
    images = Path(folder) / "images"
    images.mkdir(parents=True, exist_ok=True)
    for photo in photos:
        shutil.copyfile(photo, images / Path(photo).name)
    write_options(folder, options or {})
    return Path(folder)


def write_options(folder, options):
    """Replace the task's options.json."""
    (Path(folder) / "options.json").write_text(json.dumps(options))


def run_engine(task, timeout=1200, environment=None):
    """Run the engine on a task folder and parse its stdout protocol; environment: variables to add.

    The timeout only stops a hung engine: a busy machine makes a one-minute run several times slower.
    """
    done = subprocess.run([sys.executable, "-m", "localnode.engine", str(task)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(environment or {})})
    console, progress, errors = [], [], []
    for line in done.stdout.splitlines():
        if line.startswith("@@progress "):
            progress.append(float(line.split()[1]))
        elif line.startswith("@@error "):
            errors.append(line[len("@@error "):])
        else:
            console.append(line)
    return EngineRun(done.returncode, console, progress, errors, done.stderr)
