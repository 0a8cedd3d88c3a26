"""bench/load_bench.py is run by hand; its arguments are checked here so that a broken option
is found before someone sets aside an hour for the run."""
import pytest

from bench.load_bench import HOUR, parse_args, schedule


def test_defaults_are_the_reception_day_peak():
    args = parse_args([])
    assert (args.residents, args.liaisons, args.speedup, args.minutes) == (2000, 200, 12.0, None)


def test_a_window_of_the_hour_keeps_the_real_rates():
    import random
    args = parse_args(["--speedup", "1", "--minutes", "6", "--liaisons", "10"])
    world = {"liaisons": [f"l{n}" for n in range(10)]}
    events = schedule(args, world, random.Random(1))
    assert events and max(t for t, _, _ in events) < 6 * 60
    residents = sum(1 for _, kind, _ in events if kind == "resident")
    assert 100 < residents < 300  # about 2,000 × 6/60
    whole = schedule(parse_args(["--liaisons", "10"]), world, random.Random(1))
    assert sum(1 for _, kind, _ in whole if kind == "resident") == 2000
    assert max(t for t, _, _ in whole) < HOUR / 12


@pytest.mark.parametrize("argv", [["--speedup", "0"], ["--minutes", "-1"],
                                  ["--web-share", "1.5"], ["--liaisons", "500"]])
def test_impossible_settings_are_refused(argv):
    with pytest.raises(SystemExit):
        parse_args(argv)
