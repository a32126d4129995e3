"""The synthesis cache: hits, misses, a changed sentence, damaged entries, two renders at once."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from letgo import session
from letgo.cli import main
from letgo.file import atomic
from letgo.settings.groups import MixSettings
from letgo.voice import cache
from letgo.voice.engines import Clip
from letgo.voice.engines.fake import FakeEngine

TEMPLATE = """{#
title = "Cache test"
description = "A few sentences."
#}
Arrive here. Let the breath settle.
[pause 2s]
Notice the feet on the floor. SENTENCE
[pause 2s]
Arrive here.
"""


def write_template(folder: Path, last: str = "Rest now.") -> Path:
    path = folder / "cached.j2"
    path.write_text(TEMPLATE.replace("SENTENCE", last))
    return path


def request(template: Path, folder: Path, **changes) -> session.Request:
    return session.Request(
        template=str(template),
        engine="fake",
        cache_dir=str(folder),
        mix=MixSettings(background="none"),
        **changes,
    )


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.clip"))


def test_a_second_prepare_speaks_nothing_and_matches_the_first(tmp_path):
    template, store = write_template(tmp_path), tmp_path / "cache"
    first_engine, second_engine = FakeEngine(), FakeEngine()
    first = session.prepare(request(template, store), first_engine)
    # "Arrive here." is said twice but spoken once.
    assert first_engine.calls == [
        "Arrive here.",
        "Let the breath settle.",
        "Notice the feet on the floor.",
        "Rest now.",
    ]
    assert len(entries(store)) == 4
    second = session.prepare(request(template, store), second_engine)
    assert second_engine.calls == []
    assert second.timeline == first.timeline
    for a, b in zip(first.clips, second.clips, strict=False):
        assert a.sample_rate == b.sample_rate and np.array_equal(a.samples, b.samples)


def test_changing_one_sentence_speaks_only_that_sentence(tmp_path):
    store = tmp_path / "cache"
    session.prepare(request(write_template(tmp_path), store), FakeEngine())
    engine = FakeEngine()
    session.prepare(request(write_template(tmp_path, "Rest a while."), store), engine)
    assert engine.calls == ["Rest a while."]
    assert len(entries(store)) == 5


def test_other_voice_settings_are_other_entries(tmp_path):
    class Tuned(FakeEngine):
        def identity(self) -> str:
            return super().identity() + "/tuned"

    store = tmp_path / "cache"
    session.prepare(request(write_template(tmp_path), store), FakeEngine())
    engine = Tuned()
    session.prepare(request(write_template(tmp_path), store), engine)
    assert len(engine.calls) == 4


def test_no_cache_neither_reads_nor_writes(tmp_path):
    template, store = write_template(tmp_path), tmp_path / "cache"
    session.prepare(request(template, store), FakeEngine())
    engine = FakeEngine()
    session.prepare(request(template, store, cache=False), engine)
    assert len(engine.calls) == 4
    session.prepare(request(template, tmp_path / "other", cache=False), FakeEngine())
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage", "swapped"])
def test_a_damaged_entry_is_detected_and_rebuilt(tmp_path, damage):
    template, store = write_template(tmp_path), tmp_path / "cache"
    session.prepare(request(template, store), FakeEngine())
    victim = next(
        p
        for p in entries(store)
        if cache.decode(p.read_bytes(), cache.key_of(p)).duration
        == pytest.approx(len("Rest now.") * 0.05, abs=1e-3)
    )
    data = bytearray(victim.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) - 100]
    elif damage == "empty":
        data = bytearray()
    elif damage == "swapped":
        other = next(p for p in entries(store) if p != victim)
        data = bytearray(other.read_bytes())  # another sentence's entry under this name
    else:
        data = bytearray(b"not a clip at all" * 10)
    victim.write_bytes(bytes(data))
    engine = FakeEngine()
    prepared = session.prepare(request(template, store), engine)
    assert engine.calls == ["Rest now."]
    assert cache.decode(victim.read_bytes(), cache.key_of(victim)) is not None
    assert prepared.clips[-2].duration == pytest.approx(len("Rest now.") * 0.05, abs=1e-3)


def test_entries_round_trip_and_reject_a_wrong_header():
    clip = Clip(np.linspace(-1, 1, 1000, dtype=np.float32), 22050)
    data = cache.encode(clip, "k1")
    back = cache.decode(data, "k1")
    assert back.sample_rate == 22050 and np.allclose(back.samples, clip.samples, atol=1e-4)
    assert cache.decode(b"XXXX" + data[4:], "k1") is None
    assert cache.decode(data, "k2") is None  # an entry under another's name


def test_an_unwritable_cache_costs_speed_not_the_render(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    engine = FakeEngine()
    prepared = session.prepare(request(write_template(tmp_path), blocker / "cache"), engine)
    assert len(prepared.clips) == 5 and len(engine.calls) == 4


def test_two_renders_at_once_share_the_cache_safely(tmp_path):
    template, store = write_template(tmp_path), tmp_path / "cache"
    env = {**os.environ, "LETGO_CACHE_DIR": str(store)}
    code = "from letgo.cli import main; main()"
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "render",
                str(template),
                "--engine",
                "fake",
                "--background",
                "none",
                "-q",
                "-o",
                str(tmp_path / f"out{n}.mp3"),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read()
    assert (tmp_path / "out0.mp3").stat().st_size > 0
    assert (tmp_path / "out1.mp3").stat().st_size > 0
    found = entries(store)
    assert len(found) == 4
    assert all(cache.decode(p.read_bytes(), cache.key_of(p)) is not None for p in found)
    assert not list(store.glob("*/.tmp-*"))
    engine = FakeEngine()
    session.prepare(request(template, store), engine)
    assert engine.calls == []


def test_cache_command_shows_and_clears(tmp_path, runner, monkeypatch):
    store = tmp_path / "cache"
    monkeypatch.setenv("LETGO_CACHE_DIR", str(store))
    template = write_template(tmp_path)
    result = runner.invoke(main, ["script", str(template), "--engine", "fake"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(main, ["cache"])
    assert shown.exit_code == 0 and f"{store}: 4 entries" in shown.output
    cleared = runner.invoke(main, ["cache", "clear"])
    assert cleared.exit_code == 0 and "Removed 4 entries" in cleared.output
    assert entries(store) == []
    assert "0 entries" in runner.invoke(main, ["cache"]).output


def test_no_cache_flag(tmp_path, runner, monkeypatch):
    store = tmp_path / "cache"
    monkeypatch.setenv("LETGO_CACHE_DIR", str(store))
    result = runner.invoke(
        main, ["script", str(write_template(tmp_path)), "--engine", "fake", "--no-cache"]
    )
    assert result.exit_code == 0, result.output
    assert entries(store) == []


def test_the_default_folder_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache.default_folder() == tmp_path / "xdg" / "letgo" / "speech"
    monkeypatch.setenv("LETGO_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.default_folder() == tmp_path / "mine"


WRITER = """
import sys
import numpy as np
from letgo.voice.cache import ClipCache
from letgo.voice.engines import Clip
store = ClipCache(sys.argv[1])
for round in range(6):
    for n in range(20):
        samples = np.full(20000 + n, 0.1 * (int(sys.argv[2]) + 1), dtype=np.float32)
        store.put(store.key("writer", str(n)), Clip(samples, 22050))
"""


def test_readers_never_see_half_an_entry_while_two_processes_write(tmp_path):
    store = cache.ClipCache(tmp_path / "cache")
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(store.folder), str(n)])
        for n in range(2)
    ]
    seen, running = 0, True
    while running:
        running = any(w.poll() is None for w in writers)  # one last pass after both finish
        for n in range(20):
            path = store.path(store.key("writer", str(n)))
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            assert cache.decode(data, cache.key_of(path)) is not None, f"half-written {path}"
            seen += 1
    assert all(w.returncode == 0 for w in writers)
    assert store.stats().entries == 20 and seen > 0
    assert not [p for p in store.folder.rglob("*") if atomic.is_temporary(p)]


def test_pruning_removes_the_least_recently_used_first(tmp_path):
    store = cache.ClipCache(tmp_path / "cache", max_bytes=10**9)
    clip = Clip(np.full(1000, 0.1, dtype=np.float32), 22050)
    keys = [store.key("old", str(n)) for n in range(5)]
    for age, key in enumerate(keys):  # keys[0] is the newest, keys[4] the oldest
        store.put(key, clip)
        os.utime(store.path(key), (1e9 - age * 100, 1e9 - age * 100))
    assert store.get(keys[4]) is not None  # a hit: now the most recently used
    stale = store.path(keys[0]).parent / f".{keys[0]}.dead0000.part{cache.SUFFIX}"
    stale.write_bytes(b"half")
    os.utime(stale, (1e9, 1e9))  # left by a render that died long ago: nobody holds it
    busy = store.path(keys[0]).parent / f".{keys[0]}.b0590000.part{cache.SUFFIX}"
    busy.write_bytes(b"being written")
    os.utime(busy, (1e9, 1e9))
    size = store.path(keys[0]).stat().st_size
    with open(busy) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as a live render holds the file it writes
        removed = store.prune(3 * size + len(b"being written"))
    assert removed.entries == 2
    assert [store.get(k) is not None for k in keys] == [True, True, False, False, True]
    assert not stale.exists() and busy.exists()  # another render is still writing it


def test_a_render_keeps_the_cache_within_its_limit(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "config.toml").write_text("[cache]\nmax_mb = 10\n")
    monkeypatch.setenv("LETGO_CONFIG_DIR", str(folder))
    store = tmp_path / "cache"
    (store / "00").mkdir(parents=True)
    old = store / "00" / f"{'0' * 64}{cache.SUFFIX}"
    old.write_bytes(bytes(11_000_000))  # an old, large entry puts the cache over its limit
    os.utime(old, (1e9, 1e9))
    template = write_template(tmp_path)
    session.prepare(request(template, store), FakeEngine())
    assert not old.exists() and len(entries(store)) == 4  # this render's entries are kept
    session.prepare(request(template, store), FakeEngine())  # nothing new: nothing pruned


def test_cache_command_shows_the_limit_and_prunes(tmp_path, runner, monkeypatch):
    store = tmp_path / "cache"
    monkeypatch.setenv("LETGO_CACHE_DIR", str(store))
    result = runner.invoke(main, ["script", str(write_template(tmp_path)), "--engine", "fake"])
    assert result.exit_code == 0, result.output
    assert "(limit 1000 MB)" in runner.invoke(main, ["cache"]).output
    kept = runner.invoke(main, ["cache", "prune"])
    assert kept.exit_code == 0 and "Removed 0 entries" in kept.output and "4 entries" in kept.output
    emptied = runner.invoke(main, ["cache", "prune", "--max-mb", "0"])
    assert "Removed 4 entries" in emptied.output and entries(store) == []
    bad = runner.invoke(main, ["cache", "prune", "--max-mb", "-1"])
    assert bad.exit_code == 2
