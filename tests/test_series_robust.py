"""A series build that is killed midway, run on a Dask cluster, and spoken by the real voice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import measure
from letgo.cli import main
from letgo.file import ffmpeg, tags

DATA = Path(__file__).parent / "series_data"


def named() -> dict[str, str]:
    """Temporary files under names from the start (no O_TMPFILE), so a test sees encoding
    begin; tests/test_hardening_three.py covers the unnamed way."""
    return {**os.environ, "LETGO_TEMPORARIES": "named"}


def plan_of(
    folder: Path, sessions: int, minutes: float, engine: str = "fake", background: str = "none"
) -> Path:
    shutil.copytree(DATA, folder)
    body = "".join(
        f'\n[[sessions]]\ntemplate = "tiny"\ntitle = "Part {n}"\n' for n in range(1, sessions + 1)
    )
    plan = folder / "plan.toml"
    plan.write_text(
        f'[series]\ntitle = "Robust"\ntemplates = ["."]\n[defaults]\n'
        f'minutes = {minutes}\nengine = "{engine}"\nbackground = "{background}"\n{body}'
    )
    return plan


def check_complete(out: Path, sessions: int, minutes: float) -> None:
    manifest = json.loads((out / ".letgo-series.json").read_text())
    assert not [p for p in out.rglob(".*.part*")], "temporary files were left behind"
    for n in range(1, sessions + 1):
        mp3 = out / f"{n:02d}-part-{n}.mp3"
        assert measure.stream_info(mp3).duration == pytest.approx(minutes * 60, abs=0.1)
        assert tags.read_extra(mp3)["letgo:hash"] == manifest["sessions"][mp3.name]["key"]
        assert [c.title for c in tags.read_chapters(mp3)] == ["Arrival", "Release", "Return"]
        assert mp3.with_suffix(".vtt").read_text().count(" --> ") == 5
    assert (out / "playlist.m3u").read_text().count(".mp3") == sessions


def start_build(plan: Path, out: Path, jobs: int, **popen) -> subprocess.Popen:
    """`letgo series build` in a process group of its own, as a terminal would start it."""
    command = [
        sys.executable,
        "-c",
        "from letgo.cli import main; main()",
        "series",
        "build",
        str(plan),
        "-o",
        str(out),
        "--jobs",
        str(jobs),
        "-q",
    ]
    return subprocess.Popen(command, start_new_session=True, **popen)


@pytest.mark.e2e
def test_killed_build_leaves_no_partial_files_and_the_next_run_finishes(tmp_path):
    sessions, minutes = 3, 2
    plan = plan_of(tmp_path / "plan", sessions, minutes)
    out = tmp_path / "out"
    process = start_build(plan, out, jobs=1, env=named())  # watched for by its temporary name
    manifest = out / ".letgo-series.json"
    deadline = time.monotonic() + 60
    while True:  # kill once the first session is done and the second is being encoded
        if (
            manifest.exists()
            and len(json.loads(manifest.read_text())["sessions"]) >= 1
            and any(out.glob(".*.part*"))
        ):
            break
        assert process.poll() is None and time.monotonic() < deadline, "build ended too soon"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the build and its worker processes, at once
    process.wait()
    done = json.loads(manifest.read_text())["sessions"]
    assert 1 <= len(done) < sessions
    for mp3 in out.glob("[!.]*.mp3"):  # whatever has its real name is complete
        assert measure.stream_info(mp3).duration == pytest.approx(minutes * 60, abs=0.1)

    result = CliRunner().invoke(
        main, ["series", "build", str(plan), "-o", str(out), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["skipped"] == len(done) and summary["built"] == sessions - len(done)
    check_complete(out, sessions, minutes)


@pytest.mark.e2e
def test_ctrl_c_stops_cleanly_and_the_next_run_finishes(tmp_path):
    sessions, minutes = 3, 2
    plan = plan_of(tmp_path / "plan", sessions, minutes)
    out = tmp_path / "out"
    process = start_build(plan, out, jobs=2, stderr=subprocess.PIPE, text=True, env=named())
    deadline = time.monotonic() + 60
    while not [p for p in out.glob(".*.part.mp3")]:  # encoding has begun
        assert process.poll() is None and time.monotonic() < deadline, "build ended too soon"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not [p for p in out.rglob("*") if ".part" in p.name], "partial files were left"
    for mp3 in out.glob("*.mp3"):
        assert measure.stream_info(mp3).duration == pytest.approx(minutes * 60, abs=0.1)
    result = CliRunner().invoke(
        main, ["series", "build", str(plan), "-o", str(out), "-q"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    check_complete(out, sessions, minutes)


@pytest.mark.e2e
def test_build_on_a_local_dask_cluster(tmp_path):
    from distributed import LocalCluster

    plan = plan_of(tmp_path / "plan", 3, 1)
    out = tmp_path / "shared" / "out"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = CliRunner().invoke(
            main,
            [
                "series",
                "build",
                str(plan),
                "-o",
                str(out),
                "--scheduler",
                cluster.scheduler_address,
                "--json",
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["built"] == 3
    check_complete(out, 3, 1)


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    plan = plan_of(tmp_path / "plan", 1, 1)
    result = CliRunner().invoke(
        main,
        [
            "series",
            "build",
            str(plan),
            "-o",
            str(tmp_path / "o"),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2
    assert "Dask scheduler" in result.stderr and "Traceback" not in result.output


@pytest.mark.e2e
def test_real_voice_end_to_end(tmp_path):
    plan = plan_of(tmp_path / "plan", 1, 1, engine="pyttsx3", background="pink")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["series", "build", str(plan), "-o", str(out), "-q"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    mp3 = out / "01-part-1.mp3"
    assert measure.stream_info(mp3).duration == pytest.approx(60, abs=0.1)
    assert [c.title for c in tags.read_chapters(mp3)] == ["Arrival", "Release", "Return"]
    cues = (out / "01-part-1.srt").read_text().replace(",", ".")  # the VTT times each word
    assert "Let your shoulders soften." in cues and cues.count(" --> ") == 5
    audio = ffmpeg.decode(mp3, 16000)[:, 0]
    # speech is louder than the soft pink background under the last, long pause
    speech = [line.split(" --> ") for line in cues.splitlines() if " --> " in line]
    start, end = (float(t.split(":")[-1]) + 60 * int(t.split(":")[1]) for t in speech[1])
    spoken = audio[int(start * 16000) : int(end * 16000)]
    assert measure.rms_db(spoken) > measure.rms_db(audio[int(30 * 16000) : int(40 * 16000)]) + 6


def test_one_build_per_folder_at_a_time(tmp_path):
    from letgo.errors import UsageError
    from letgo.series.build import FolderLock

    with FolderLock(tmp_path):
        with pytest.raises(UsageError, match="another build is writing to"):
            with FolderLock(tmp_path):
                pass
    with FolderLock(tmp_path):  # released on exit
        pass
