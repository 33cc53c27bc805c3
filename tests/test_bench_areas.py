"""`gopolicy bench --only AREA` finds each area by the name its help lists."""

import argparse

from gopolicy.benchmarks import bench


def test_only_names_every_area():
    assert [bench.area_name(module) for module, _ in bench.AREAS] == \
        ["rules", "features", "network", "engine", "pipeline"]


def test_only_measures_just_that_area(monkeypatch, capsys):
    measured = []

    def fake_import(name):
        measured.append(name)
        return argparse.Namespace(measure=lambda: {"replay_moves_per_s": 1.0})

    monkeypatch.setattr(bench, "import_module", fake_import)
    assert bench.run(argparse.Namespace(only=["rules"], json=True)) == 0
    assert measured == ["gopolicy.benchmarks.rules_bench"]
    assert '"replay_moves_per_s": 1.0' in capsys.readouterr().out
