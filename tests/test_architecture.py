"""ARCHITECTURE.md is the map of the code: it names every module, so it cannot fall behind."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ["gopolicy", "engine", "training", "review", "benchmarks"]


def modules() -> list[str]:
    """Return every module as the map names it: its path inside its top folder ("gtp/protocol.py"),
    package markers (__init__.py) of subpackages left out; tests/ helpers and scripts/ too."""
    names = []
    for floor in FLOORS:
        for path in sorted((ROOT / floor).rglob("*.py")):
            inside = path.relative_to(ROOT / floor).as_posix()
            if path.name != "__init__.py" or floor == "gopolicy" and inside == "__init__.py":
                names.append(inside)
    names += [p.name for p in sorted((ROOT / "tests").glob("*.py")) if not p.name.startswith("test_")]
    names += [f"js/{p.name}" for p in sorted((ROOT / "tests" / "js").glob("*.js"))]
    names += [f"scripts/{p.name}" for p in sorted((ROOT / "scripts").iterdir())]
    return names


def test_architecture_names_every_module():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert [name for name in modules() if f"`{name}`" not in text] == []


def test_no_code_cites_the_design_card_instead_of_the_map():
    sources = [p for floor in FLOORS + ["tests", "scripts"] for p in (ROOT / floor).rglob("*")
               if p.suffix in (".py", ".sh") and p.name != Path(__file__).name]
    assert [str(p.relative_to(ROOT)) for p in sources if "DESIGN.md" in p.read_text(encoding="utf-8")] == []
