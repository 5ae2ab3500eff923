"""The engine's progress helpers on their own: counted steps say "N of M" at a sensible rate and move progress
within their share; steps that cannot count creep and say they are still running; equal progress is said once."""
import threading
import time

import pytest

from localnode.engine import console
from localnode.engine.console import Counter, Heartbeat, counting


@pytest.fixture(autouse=True)
def fresh_progress(monkeypatch):
    """Each test starts from no progress reported (the module keeps the last value, as one engine run does)."""
    monkeypatch.setattr(console, "_progress", [0.0, None])


def lines_of(capsys, prefix):
    """The stdout lines printed so far that start with prefix."""
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith(prefix)]


def test_a_thousand_photos_get_ten_lines_not_a_thousand(capsys):
    """1000 items counted one by one (from 4 threads): a line every 10 %, the last one "1000 of 1000", and
    the reported fraction moves over exactly [start, end] of the stage's share, never back."""
    fractions = []
    counter = Counter("dataset", 1000, "Images read", fractions.append, 0.2, 0.6)

    def work(count):
        for _ in range(count):
            counter.add()
    threads = [threading.Thread(target=work, args=(250,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = lines_of(capsys, "[dataset]")
    assert lines == [f"[dataset] Images read: {n} of 1000 ({n // 10} %)" for n in range(100, 1001, 100)]
    assert len(fractions) == 1000 and fractions == sorted(fractions)
    assert fractions[0] == pytest.approx(0.2004) and fractions[-1] == pytest.approx(0.6)


def test_a_slow_count_is_said_every_few_seconds(capsys, monkeypatch):
    """Below 10 % more, a line still comes once LINE_SECONDS have passed since the last one."""
    monkeypatch.setattr(console, "LINE_SECONDS", 0.05)
    counter = Counter("opensfm", 1000, "Image pairs matched", lambda f: None)
    counter.add(3)
    time.sleep(0.06)
    counter.add(2)
    counter.add(1)
    assert lines_of(capsys, "[opensfm]") == ["[opensfm] Image pairs matched: 5 of 1000 (0 %)"]


def test_counts_read_from_elsewhere_never_go_back_and_finish_says_the_last(capsys):
    """update_to takes absolute counts (as read from COLMAP's database); finish reports the whole share and says
    a count that fell short of the estimate."""
    fractions = []
    counter = Counter("opensfm", 100, "Image pairs matched", fractions.append, 0.4, 0.65)
    counter.update_to(50)
    counter.update_to(40)
    counter.update_to(56)
    counter.finish()
    assert counter.done == 56 and fractions[-1] == 0.65 and fractions == sorted(fractions)
    assert lines_of(capsys, "[opensfm]") == ["[opensfm] Image pairs matched: 50 of 100 (50 %)",
                                             "[opensfm] Image pairs matched: 56 of 100 (56 %)"]


def test_counting_makes_its_counter_at_the_first_call(capsys):
    """A (done, total) callback for code that learns its total as it starts."""
    fractions = []
    progress = counting("odm_georeferencing", "Stereo pairs matched", fractions.append, 0.0, 0.8)
    for done in range(1, 5):
        progress(done, 4)
    assert fractions == [0.2, 0.4, 0.6000000000000001, 0.8]
    assert lines_of(capsys, "[odm_georeferencing]")[-1] == "[odm_georeferencing] Stereo pairs matched: 4 of 4 (100 %)"


def test_heartbeat_creeps_within_its_share_and_says_it_is_running(capsys, monkeypatch):
    """While an uncountable step runs, progress rises inside [start, end) and a line says it still runs;
    at its end the whole share is reported."""
    monkeypatch.setattr(console, "HEARTBEAT_SECONDS", 1.0)
    fractions = []
    with Heartbeat("odm_meshing", "Meshing", fractions.append, 0.1, 0.7, expected_seconds=2):
        time.sleep(2.5)
    assert fractions[0] == 0.1 and fractions[-1] == 0.7
    inside = fractions[1:-1]
    assert len(inside) >= 2 and inside == sorted(inside) and all(0.1 < f < 0.7 for f in inside)
    assert "[odm_meshing] Meshing: still running after 1 s" in lines_of(capsys, "[odm_meshing]")


def test_equal_progress_is_printed_once(capsys):
    """The server saves the task at each progress line: a value that rounds the same is not printed again."""
    for value in (10.0, 10.01, 10.04, 10.2, 5.0):
        console.progress(value)
    assert lines_of(capsys, "@@progress") == ["@@progress 10.0", "@@progress 10.2"]
