"""Text normalisation and pronunciation files: what the engine is given to read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letgo import session
from letgo.cli import main
from letgo.errors import UsageError
from letgo.voice.engines.fake import FakeEngine
from letgo.words import speakable as normalize
from letgo.words.script import split_sentences


@pytest.fixture
def say():
    return normalize.load()


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("Breathe in for 4 counts.", "Breathe in for four counts."),
        ("In for 4, hold for 7, out for 8.", "In for four, hold for seven, out for eight."),
        ("We begin at 10:30.", "We begin at ten thirty."),
        ("At 7:05 pm we rest.", "At seven oh five P M we rest."),
        ("At 6 a.m. the birds wake.", "At six A M the birds wake."),
        ("Wake at 6 a.m.", "Wake at six A M."),
        ("It is 12:00 now.", "It is twelve o'clock now."),
        ("Use a cushion, e.g. a pillow.", "Use a cushion, for example a pillow."),
        ("Something soft, i.e. kind.", "Something soft, that is kind."),
        ("Thoughts, plans, etc. come and go.", "Thoughts, plans, et cetera come and go."),
        ("Dr. Lee teaches.", "Doctor Lee teaches."),
        ("Rest for 5 mins.", "Rest for five minutes."),
        ("About 2.5 breaths.", "About two point five breaths."),
        ("Half of 1,000 is 500.", "Half of one thousand is five hundred."),
        ("Only 50% of the way.", "Only fifty percent of the way."),
        ("The 3rd breath.", "The third breath."),
        ("For 5–10 minutes.", "For five to ten minutes."),
        ("Rest & breathe.", "Rest and breathe."),
        ("Since 1990, and in 2024.", "Since nineteen ninety, and in twenty twenty-four."),
        ("Some 1,500 or 1500 people.", "Some one thousand five hundred or fifteen hundred people."),
        ("Take 3-5 breaths.", "Take three to five breaths."),
        ("Try 4-7-8 breathing.", "Try four seven eight breathing."),
        ("A 20-minute sit.", "A twenty-minute sit."),
        ("Rest for 1 min, then 10 mins.", "Rest for one minute, then ten minutes."),
        ("Sit for 1 hr or 90 secs.", "Sit for one hour or ninety seconds."),
        ("Rest a few mins.", "Rest a few minutes."),
        (
            "A gift of $1 or $2.50, £5.01, €20.",
            "A gift of one dollar or two dollars and fifty cents, five pounds and one penny, "
            "twenty euros.",
        ),
        (
            "Breathe out 1/2, then 3/4, then 2/3.",
            "Breathe out one half, then three quarters, then two thirds.",
        ),
        ("In your 30s, or the 1960s.", "In your thirties, or the nineteen sixties."),
        ("Step #3, breathe 2x.", "Step number three, breathe two times."),
        ("Approx. 5 mins.", "Approximately five minutes."),
        ("Thoughts, plans, etc.", "Thoughts, plans, et cetera."),
        ("Count 1000 breaths.", "Count one thousand breaths."),
        ("Let go.", "Let go."),
    ],
)
def test_sentences_read_well(say, text, spoken):
    assert say(text) == spoken


def test_abbreviations_do_not_end_a_sentence():
    assert split_sentences("Sit, e.g. on a chair. Dr. Lee smiles. At 6 a.m. we rise. Rest.") == [
        "Sit, e.g. on a chair.",
        "Dr. Lee smiles.",
        "At 6 a.m. we rise.",
        "Rest.",
    ]


def test_a_pronunciation_file_plain_and_regex(tmp_path):
    file = tmp_path / "mine.toml"
    file.write_text(
        '[plain]\n"Thich Nhat Hanh" = "Tick Nyat Hahn"\n"qi" = "chee"\n'
        "[regex]\n'(?i)\\bmetta\\b' = \"met-tah\"\n'(\\d+) breaths' = \"\\\\1 slow breaths\"\n"
    )
    say = normalize.load([file])
    assert say("Thich Nhat Hanh said qi, not qigong.") == "Tick Nyat Hahn said chee, not qigong."
    assert say("Metta and metta.") == "met-tah and met-tah."
    assert say("Take 3 breaths.") == "Take three slow breaths."


def test_the_users_own_rules_win_over_the_built_in_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("LETGO_CONFIG_DIR", str(tmp_path))
    (tmp_path / "pronunciations.toml").write_text("[regex]\n'\\be\\.g\\.' = \"say\"\n")
    assert normalize.load()("Rest, e.g. here.") == "Rest, say here."
    assert normalize.load(user=False)("Rest, e.g. here.") == "Rest, for example here."


@pytest.mark.parametrize(
    "content, message",
    [
        ("[plain\n", "not valid TOML"),
        ("[words]\n", r"unknown table \[words\]"),
        ("[regex]\n'(' = \"x\"\n", "not a valid regex"),
        ('[plain]\n"a" = 3\n', "must map to a string"),
    ],
)
def test_a_bad_pronunciation_file_names_itself(tmp_path, content, message):
    file = tmp_path / "bad.toml"
    file.write_text(content)
    with pytest.raises(UsageError, match=message) as error:
        normalize.load([file])
    assert str(file) in str(error.value)


def test_the_engine_reads_normalised_text_while_the_script_keeps_the_written_one(tmp_path):
    template = tmp_path / "t.j2"
    template.write_text('{#\ntitle = "T"\n#}\nBreathe in for 4 counts, e.g. slowly.\n')
    engine = FakeEngine()
    prepared = session.prepare(
        session.Request(template=str(template), engine="fake", cache_dir=str(tmp_path / "c")),
        engine,
    )
    assert engine.calls == ["Breathe in for four counts, for example slowly."]
    assert prepared.timeline.speech[0].text == "Breathe in for 4 counts, e.g. slowly."


def test_pronunciations_option(tmp_path, runner):
    template = tmp_path / "t.j2"
    template.write_text('{#\ntitle = "T"\n#}\nSay qi.\n')
    file = tmp_path / "p.toml"
    file.write_text('[plain]\n"qi" = "chee chee chee chee"\n')
    plain = runner.invoke(main, ["script", str(template), "--engine", "fake"])
    longer = runner.invoke(
        main, ["script", str(template), "--engine", "fake", "--pronunciations", str(file)]
    )
    assert plain.exit_code == 0 and longer.exit_code == 0, longer.output
    assert "Say qi." in longer.output  # the script shows the text as written...
    said = runner.invoke(
        main,
        ["script", str(template), "--engine", "fake", "--spoken", "--pronunciations", str(file)],
    )
    assert "Say chee chee chee chee." in said.output
    assert plain.output.splitlines()[-1] != longer.output.splitlines()[-1]  # ...spoken longer
    missing = runner.invoke(
        main,
        [
            "script",
            str(template),
            "--engine",
            "fake",
            "--pronunciations",
            str(tmp_path / "none.toml"),
        ],
    )
    assert missing.exit_code == 2 and "none.toml: no such file" in missing.output


BUILT_IN = normalize.load(user=False)


@given(
    st.integers(min_value=0, max_value=10**7),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["", "%", "st", "nd", "rd", "th"]),
)
def test_no_digit_is_left_for_the_voice_to_guess(number, hour, minute, suffix):
    say = BUILT_IN
    text = (
        f"Count {number}{suffix} and {number:,} at {hour}:{minute:02d}, then {number}.5 more,"
        f" ${number}, {number} mins, {hour}-{minute}, {hour}/{minute}, {number}0s and #{number}."
    )
    assert not any(c.isdigit() for c in say(text)), say(text)


@given(
    st.lists(
        st.sampled_from(
            [
                "Rest.",
                "e.g.",
                "Dr.",
                "Lee",
                "at",
                "6",
                "a.m.",
                "and",
                "go!",
                "Why?",
                "i.e.",
                "soft",
                "Breathe.",
            ]
        ),
        max_size=12,
    )
)
def test_splitting_keeps_every_word_in_order(words):
    text = " ".join(words)
    assert " ".join(split_sentences(text)) == text
