"""The wheel: one top-level package, gopolicy, carrying the default network; installed into a
fresh virtual environment, `gopolicy gtp` started in another folder plays with it.

The fresh environment gets only the wheel (pip --no-index --no-deps); the dependencies (torch,
numpy...) come from this interpreter's site-packages through a .pth file, so no network is needed.
"""

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from (pyproject.toml's package-dir): copied, so that nothing is
# built inside the checkout and no stale build/ folder can slip into the wheel.
SOURCES = ["pyproject.toml", "README.md", "gopolicy", "engine", "training", "review", "benchmarks",
           "weights"]
INSTALLED_AS = {"gopolicy": "gopolicy", "engine": "gopolicy/engine", "training": "gopolicy/training",
                "review": "gopolicy/review", "benchmarks": "gopolicy/benchmarks", "weights": "gopolicy/network"}


def build_wheel(tmp_path: Path) -> Path:
    """Return the wheel built from a copy of the sources (offline: this environment's setuptools)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                             if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(tmp_path / "dist"), str(source)], check=True)
    return next((tmp_path / "dist").glob("gopolicy-*.whl"))


def fresh_environment(tmp_path: Path, wheel: Path) -> Path:
    """Return the bin folder of a new virtual environment holding the wheel installed."""
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies, after the environment's own site-packages (a plain path: the
    # editable install of this checkout, a .pth file there, is not processed)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return env / "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Return the wheel, built once for this module's tests."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_one_package_and_the_network(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"gopolicy", "gopolicy-0.1.0.dist-info"}
    assert "gopolicy/network/default.safetensors" in names
    for folder, package in INSTALLED_AS.items():  # every module of every folder, subpackages too
        modules = {f"{package}/{path.relative_to(ROOT / folder).as_posix()}"
                   for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts}
        assert modules and modules <= set(names), sorted(modules - set(names))


def test_installed_from_the_wheel_gtp_plays_from_any_folder(tmp_path, wheel):
    bin_dir = fresh_environment(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(elsewhere)}

    def run(*args, stdin=""):
        return subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=elsewhere,
                              env=env, timeout=600)

    where = run(str(bin_dir / "python"), "-c", "import gopolicy.engine.gtp.protocol as g, gopolicy.weights as w; "
                "print(g.__file__); print(w.default_weights_path())")
    module, network = where.stdout.split()
    assert module.startswith(str(tmp_path / "env")) and network.startswith(str(tmp_path / "env")), where
    assert run(str(bin_dir / "gopolicy"), "--version").stdout == "gopolicy 0.1.0\n"
    game = run(str(bin_dir / "gopolicy"), "gtp", stdin="1 genmove b\n2 quit\n")
    assert game.returncode == 0, game.stderr
    move = game.stdout.split("\n\n")[0]
    assert move.startswith("=1 ") and move[3] in "ABCDEFGHJKLMNOPQRST", (game.stdout, game.stderr)
    katago = run(str(bin_dir / "gopolicy-katago"), "analysis", "-model", "m", "-config", "c",
                 stdin='{"id":"v","action":"query_version"}\n')
    assert '"version":"0.1.0"' in katago.stdout, katago.stderr
