"""The Streamlit app through Streamlit's AppTest: setup, chat, commands, report, history, resume."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from factories import LOCAL, damaged_sessions_db, report
from fake_llm import FakeLLM
from streamlit.testing.v1 import AppTest

from interviewer.config import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture(autouse=True)
def fresh_resources() -> Iterator[None]:
    """Each test builds its own services from its own environment."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _start(at: AppTest, profile: str = "") -> AppTest:
    if profile:
        at.text_input[0].input(profile)
    next(b for b in at.button if b.label == "Start interview").click().run()
    assert not at.exception, at.exception
    assert "session" in at.query_params
    return at


def _button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label.endswith(label))


def _end(at: AppTest) -> None:
    """End, then "End now": while questions remain, End asks first."""
    _button(at, "End").click().run()
    _button(at, "End now").click().run()


def test_setup_page_describes_choices_and_mode() -> None:
    at = _app()
    assert at.title[0].value == "Mock interview"
    assert any("offline" in c.value for c in at.caption)
    assert [r.label for r in at.radio] == ["Level", "Format"]
    assert "Phone screen" in at.radio[1].options[0] or at.radio[1].options


def test_full_offline_interview_in_the_app() -> None:
    at = _start(_app(), profile="dana")
    session_id = at.query_params["session"]
    chat = [m for m in at.chat_message]
    assert len(chat) == 2  # greeting and first question
    at.chat_input[0].set_value("I would measure first, then add an index, because scans hurt.")
    at.run()
    assert not at.exception
    assert any("I would measure first" in t.value for t in at.text)
    _button(at, "Hint").click().run()
    _button(at, "Skip").click().run()
    _button(at, "Repeat").click().run()
    assert not at.exception
    _end(at)
    assert at.title[0].value == "Your interview report"
    assert len(at.get("download_button")) == 3
    # a question's criterion scores sit at most three to a row: five cut their names short
    scored = [c for c in at.columns if len(c.metric)]
    assert scored and min(c.weight for c in scored) >= 1 / 3 - 1e-6
    # A new tab (or a refresh) with the same URL shows the same report.
    again = AppTest.from_file(APP, default_timeout=120)
    again.query_params["session"] = session_id
    again.run()
    assert again.title[0].value == "Your interview report"


def test_refresh_resumes_and_a_stale_submit_is_refused_with_its_text_kept() -> None:
    at = _start(_app())
    session_id = at.query_params["session"]
    at.chat_input[0].set_value("First answer from the first tab.")
    at.run()
    tab = AppTest.from_file(APP, default_timeout=120)
    tab.query_params["session"] = session_id
    tab.run()
    assert any("First answer from the first tab." in t.value for t in tab.text)
    turns_before = len(tab.chat_message)
    # The first tab is now stale (it has not seen the tab's state): its click is refused.
    at2 = AppTest.from_file(APP, default_timeout=120)
    at2.query_params["session"] = session_id
    at2.run()
    at.chat_input[0].set_value("Second answer")
    at.run()
    at2.chat_input[0].set_value("A duplicate submit from a stale page")
    at2.run()
    assert any("was not sent" in w.value for w in at2.warning), [w.value for w in at2.warning]
    # ... and its text is put back into the input for the candidate to send again.
    box = at2.chat_input[0].proto
    assert box.set_value and box.value == "A duplicate submit from a stale page"
    stored = [t.value for t in at2.text]
    assert not any("A duplicate submit" in v for v in stored)
    assert len(tab.chat_message) == turns_before


def test_unknown_session_in_the_url_is_a_clear_message() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["session"] = "doesnotexist"
    at.run()
    assert "No session" in at.error[0].value


def test_a_blank_message_is_a_notice_not_an_empty_bubble() -> None:
    at = _start(_app())
    bubbles = len(at.chat_message)
    at.chat_input[0].set_value("  \n\t  ")
    at.run()
    assert not at.exception, at.exception
    assert len(at.chat_message) == bubbles
    assert any("empty" in i.value for i in at.info)


@pytest.mark.parametrize("hostile", ["%%%%%%", "{prefix}%%%%%", "{prefix}"])
def test_a_session_url_opens_only_the_whole_id(hostile: str) -> None:
    """Neither a LIKE pattern nor the start of someone's id opens their interview."""
    owner = _start(_app(), profile="owner")
    session_id = owner.query_params["session"]
    visitor = AppTest.from_file(APP, default_timeout=120)
    visitor.query_params["session"] = hostile.format(prefix=session_id[:6])
    visitor.run()
    assert not visitor.chat_message, "someone else's interview was shown"
    assert "No session" in visitor.error[0].value
    assert "matches" not in visitor.error[0].value


def test_history_data_and_chart_follow_the_profile() -> None:
    from interviewer.progress import progress
    from interviewer.web.charts import progress_chart
    from interviewer.web.resources import services

    for _ in range(2):
        at = _start(_app(), profile="lee")
        at.chat_input[0].set_value("I would add an index and check the plan with EXPLAIN.")
        at.run()
        _end(at)
    _start(_app(), profile="lee")  # unfinished: listed, but not charted
    svc = services()
    rows, points = progress(svc.store, svc.corpus.by_id(), "lee", viewer=LOCAL)
    assert len(rows) == 3 and sum(r.phase == "done" for r in rows) == 2
    assert len({p.session_id for p in points}) == 2
    spec = progress_chart(points).to_dict()
    whens = {row["when"] for row in spec["datasets"][next(iter(spec["datasets"]))]}
    assert len(whens) == 2 and all(w.startswith("#") for w in whens)
    # the legend sits below the chart with room for "Trade-offs and judgement" (it was cut)
    legend = progress_chart(points, by="criterion").to_dict()["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["labelLimit"] >= 300
    assert progress(svc.store, svc.corpus.by_id(), "nobody", viewer=LOCAL) == ([], [])


def test_the_report_shows_progress_since_the_candidates_earlier_interviews() -> None:
    from interviewer.domain import Level
    from interviewer.progress import SessionProgress, progress_text, session_progress
    from interviewer.web.resources import services

    answers = ["Not sure.", "I would add an index on the column and check the plan with EXPLAIN."]
    ids = []
    for answer in answers:
        at = _start(_app(), profile="pat")
        at.chat_input[0].set_value(answer)
        at.run()
        _end(at)
        assert not at.exception, at.exception
        ids.append(at.query_params["session"])
        if len(ids) == 1:  # nothing to compare with: no change, and no "since last time" alone
            first = next(m for m in at.metric if m.label == "Overall")
            assert not first.delta and not first.proto.delta_description
    headings = [h.value for h in at.subheader]
    assert "Your progress" in headings
    said = " ".join(m.value for m in at.markdown)
    assert "This is your 2nd finished mid-level interview in this pack. Overall" in said
    overall = next(m for m in at.metric if m.label == "Overall")
    assert overall.delta and overall.proto.delta_description == "since last time"
    svc = services()
    first, second = (svc.store.load(i, viewer=LOCAL) for i in ids)
    mine = session_progress(svc.store, svc.corpus.by_id(), second, viewer=LOCAL)
    assert mine is not None and mine.count == 2 and mine.previous is not None
    assert f"{mine.overall - mine.previous:+.1f}" in overall.delta
    assert {p.session_id for p in mine.points} == set(ids)
    # the first interview's report, opened now, does not count what came after it
    then = session_progress(svc.store, svc.corpus.by_id(), first, viewer=LOCAL)
    assert then is not None and then.count == 1 and then.previous is None
    assert {p.session_id for p in then.points} == {ids[0]}

    # the same person by another spelling of the name: the same history, but a senior
    # interview is compared with senior ones only, and a mid one with the two above
    def finished(level: Level, profile: str) -> SessionProgress | None:
        interview = svc.new_interview(first.pack_id, level, first.format, profile, viewer=LOCAL)
        interview.start()
        interview.handle(answers[1])
        interview.handle("end")
        return session_progress(svc.store, svc.corpus.by_id(), interview.session, viewer=LOCAL)

    senior = finished(Level.SENIOR, "Pat")
    assert senior is not None and (senior.count, senior.previous) == (1, None)
    assert "first finished senior-level interview in this pack" in progress_text(senior)
    mid = finished(first.level, " PAT")
    assert mid is not None and mid.count == 3 and mid.previous == mine.overall
    assert "3rd finished mid-level interview in this pack" in progress_text(mid)


def test_history_without_a_profile_name_lists_the_interviews_started_without_one() -> None:
    """The profile box is optional when starting; History must still find those interviews."""
    from interviewer.progress import progress
    from interviewer.web.resources import services

    plain = _start(_app()).query_params["session"]
    named = _start(_app(), profile="kim").query_params["session"]
    svc = services()
    rows, _ = progress(svc.store, svc.corpus.by_id(), "", viewer=LOCAL)
    ids = {r.id for r in rows}
    assert plain in ids and named not in ids
    assert all(not r.profile for r in rows)
    kim, _ = progress(svc.store, svc.corpus.by_id(), "kim", viewer=LOCAL)
    assert [r.id for r in kim] == [named]


def test_llm_mode_in_the_app(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_MODEL", "openai:fake-model")
    monkeypatch.setenv("INTERVIEWER_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("INTERVIEWER_API_KEY", "sk-app-secret")
    monkeypatch.setenv("INTERVIEWER_LLM_MAX_RETRIES", "0")
    fake_llm.default = "Tell me how you would approach it."
    at = _app()
    assert any("LLM" in c.value for c in at.caption)
    assert not any("sk-app-secret" in c.value for c in at.caption)
    _start(at)
    fake_llm.reply("not json at all")  # the judge fails: offline score and a notice
    fake_llm.reply("What would you measure first?")
    at.chat_input[0].set_value("I would look at the slow query log and add an index.")
    at.run()
    assert not at.exception
    assert any("could not score" in i.value for i in at.info)
    bodies = json.dumps([r["json"] for r in fake_llm.requests])
    assert "sk-app-secret" not in bodies


def test_broken_session_database_is_a_clear_message(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "broken"
    data.mkdir()
    (data / "sessions.db").write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(data))
    at = _app()
    next(b for b in at.button if b.label == "Start interview").click().run()
    assert not at.exception
    assert "Move it aside" in at.error[0].value


def test_any_discovered_pack_can_be_chosen_with_its_formats_and_rubric(
    tmp_path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    import shutil

    team = tmp_path / "team-packs"
    shutil.copytree(PROJECT_ROOT / "prompts" / "backend-onsite", team / "team-onsite")
    manifest = team / "team-onsite" / "pack.yaml"
    text = manifest.read_text().replace("id: backend-onsite", "id: team-onsite")
    text = text.replace("name: Dana Whitfield", "name: Team Person")
    manifest.write_text(text.replace("name: Backend onsite loop", "name: Team onsite loop"))
    (team / "broken").mkdir()
    (team / "broken" / "pack.yaml").write_text("id: broken\nname: [\n")
    monkeypatch.setenv("INTERVIEWER_PACKS_PATH", str(team))
    at = _app()
    packs = at.selectbox[0]
    names = " / ".join(packs.options)
    for name in ("Backend developer", "Backend onsite loop", "Frontend developer", "Team onsite"):
        assert name in names
    packs.set_value("team-onsite").run()
    assert any("Team Person" in c.value and "builds on" in c.value for c in at.caption)
    assert "Onsite loop" in at.radio[1].options
    rubric = " ".join(m.value for m in at.markdown)
    assert "| Trade-offs and judgement | 2.5 |" in rubric  # the adjusted weight is shown
    assert any("pack problem" in e.label for e in at.expander)
    next(b for b in at.button if b.label == "Start interview").click().run()
    assert not at.exception, at.exception
    assert "session" in at.query_params


@pytest.mark.parametrize("criteria", [3, 5, 9])
def test_report_chart_gives_every_criterion_a_labelled_row(criteria: int) -> None:
    from interviewer.report import CriterionSummary
    from interviewer.web.charts import criteria_chart

    names = [f"Criterion number {i}" for i in range(criteria)]
    chart_of = report(
        criteria=[
            CriterionSummary(id=f"c{i}", name=n, category="technical", score=1 + i % 5, questions=1)
            for i, n in enumerate(names)
        ],
    )
    spec = criteria_chart(chart_of).to_dict()
    # A fixed step per row (a fixed total height squeezed rows until labels were dropped).
    assert spec["height"] == {"step": 34}
    axis = spec["layer"][0]["encoding"]["y"]["axis"]
    assert axis["labelOverlap"] is False
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert [r["criterion"] for r in rows] == names


@pytest.mark.parametrize(("scores", "shown"), [((2, 4, 3), "Strongest"), ((1.5, 1.5), "Every")])
def test_strongest_and_work_on_never_name_the_same_criterion(
    scores: tuple[float, ...], shown: str
) -> None:
    from interviewer.report import CriterionSummary
    from interviewer.web.report_view import _extremes

    line = _extremes(
        report(
            criteria=[
                CriterionSummary(
                    id=f"c{i}", name=f"C{i}", category="technical", score=v, questions=1
                )
                for i, v in enumerate(scores)
            ]
        )
    )
    assert line.startswith(f"**{shown}")
    if shown == "Strongest":
        assert "C1 (4.0)" in line and "**Work on:** C0 (2.0)" in line


def test_a_broken_settings_file_is_a_message_in_the_app(
    settings_toml: Callable[[str], Path],
) -> None:
    settings_toml("modle = 'typo'\n")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert "modle" in at.error[0].value


def _history() -> None:
    from interviewer.web.history_page import history_page

    history_page()


def _unescaped(markdown: str) -> str:
    """The text as a reader sees it: untrusted text reaches Markdown backslash-escaped."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")  # and no word joiner


def test_a_damaged_session_database_is_one_message_on_every_page(isolated_env: Path) -> None:
    path = damaged_sessions_db(isolated_env)
    expected = f"The session database {path} is damaged"
    setup = _app()
    next(b for b in setup.button if b.label == "Start interview").click().run()
    opened = AppTest.from_file(APP, default_timeout=120)
    opened.query_params["session"] = "abcdef1"
    opened.run()
    history = AppTest.from_function(_history, default_timeout=120)
    history.query_params["profile"] = "kim"
    history.run()
    for at in (setup, opened, history):
        assert not at.exception, at.exception
        shown = [_unescaped(e.value) for e in at.error]
        assert len(shown) == 1 and expected in shown[0], shown
        assert "left untouched" in shown[0] and ".recover" in shown[0]


def test_a_database_url_without_its_driver_is_a_message_in_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INTERVIEWER_DATABASE_URL", "mysql://kim:s3cr3t-pw@db.example/interviews")
    at = _app()
    next(b for b in at.button if b.label == "Start interview").click().run()
    assert not at.exception, at.exception
    assert "(Python module 'MySQLdb'), which is not installed" in at.error[0].value
    assert "s3cr3t-pw" not in at.error[0].value


def test_an_empty_session_database_is_replaced_with_a_notice_shown_once(
    isolated_env: Path,
) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "sessions.db").write_bytes(b"")
    at = _start(_app())
    notices = [w.value for w in at.warning if "was empty (0 bytes)" in w.value]
    assert len(notices) == 1, [w.value for w in at.warning]
    at.chat_input[0].set_value("An answer after the notice.")
    at.run()
    assert not any("was empty" in w.value for w in at.warning)


def test_credentials_in_the_base_url_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_MODEL", "openai:some-model")
    monkeypatch.setenv(
        "INTERVIEWER_BASE_URL", "https://kim:s3cr3t-pw@llm.example/v1?api-key=k3y-value&x=1"
    )
    at = _app()
    mode = next(_unescaped(c.value) for c in at.caption if c.value.startswith("Mode: **LLM**"))
    assert "https://***@llm.example/v1?api-key=***&x=1" in mode
    assert "s3cr3t-pw" not in mode and "k3y-value" not in mode


def _model() -> None:
    from interviewer.web.model_page import model_page

    model_page()


def test_model_page_offline_explains_how_to_configure_one() -> None:
    at = AppTest.from_function(_model, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert "INTERVIEWER_MODEL" in at.info[0].value
    assert not at.button


def test_model_page_qualifies_the_configured_model(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interop.scripted_model import GOOD, Script

    from interviewer.evals.qualify import Behaviour

    script = Script()
    fake_llm.responder = lambda body: script(
        GOOD, body.get("messages", []), {"response_format": body.get("response_format")}
    )
    monkeypatch.setenv("INTERVIEWER_MODEL", f"openai:{GOOD}")
    monkeypatch.setenv("INTERVIEWER_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("INTERVIEWER_API_KEY", "sk-model-page-secret")
    at = AppTest.from_function(_model, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert any(GOOD in m.value for m in at.markdown)
    at.multiselect[0].set_value([Behaviour.PARTIAL, Behaviour.INJECTING])  # six: test_qualify
    next(b for b in at.button if b.label == "Qualify this model").click().run()
    assert not at.exception, at.exception
    assert "Verdict: fit" in at.success[0].value
    table = at.dataframe[0].value
    assert list(table.index) == ["partial", "injecting", "all"]
    assert table.loc["all", "asked what was retrieved"] == "100%"
    assert not any("sk-model-page-secret" in m.value for m in at.markdown)


def test_a_message_whose_run_was_cut_short_goes_back_in_the_box() -> None:
    """Streamlit cuts a run short for a newer request (a click, a second message): a message
    the input's callback kept but no run handed over is given back, never dropped."""
    from interviewer.web.interview_page import TAB, Tab

    at = _start(_app())
    cut = "An answer whose run was cut short before it was handed over."
    at.session_state[TAB] = Tab(unsent=[cut])  # as the input's on_submit callback kept it
    at.chat_input[0].set_value("The message that came right after it.")
    at.run()
    assert not at.exception, at.exception
    shown = [t.value for t in at.text]
    assert "The message that came right after it." in shown and cut not in shown
    assert any("came in right after it" in w.value for w in at.warning), at.warning
    box = at.chat_input[0].proto
    assert box.set_value and box.value == cut


def test_the_shipped_server_config_keeps_messages_under_load() -> None:
    """Two runner settings the load benchmark found essential (benchmarks/README.md): with fast
    reruns a saturated server dropped a double submit's first message before the page saw it,
    and a full garbage collection after every run held the interpreter for every candidate."""
    import tomllib

    from interviewer.config import PROJECT_ROOT

    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"] == {"postScriptGC": False, "fastReruns": False}


def test_the_app_starts_without_importing_scikit_learn_or_scipy_stats() -> None:
    """The metrics libraries load when a metric is computed, not with every app server (they
    were 1.4 s of its 4.9 s of imports, before its first page)."""
    import subprocess
    import sys

    pages = sorted(p.stem for p in (PROJECT_ROOT / "interviewer" / "web").glob("*_page.py"))
    code = "import sys\nimport interviewer.web.auth, interviewer.web.navigation\n"
    code += "".join(f"import interviewer.web.{page}\n" for page in pages)
    code += "print(sorted({'sklearn', 'scipy.stats'} & set(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(pages) >= 6 and done.stdout.strip() == "[]"


def test_history_trends_one_pack_and_level_at_a_time_and_names_the_pack() -> None:
    """A QA pass found one trend line joining a backend mid interview to a frontend junior
    one, rows that did not say which pack, and a chart whose legend squeezed 1..5 flat."""
    from interviewer.domain import Level
    from interviewer.progress import in_group, progress, trend_groups
    from interviewer.web.charts import progress_chart
    from interviewer.web.resources import services

    svc = services()

    def finished(pack: str, level: Level) -> str:
        fmt = next(iter(svc.pack(pack).spec.formats))
        interview = svc.new_interview(pack, level, fmt, "robin", viewer=LOCAL)
        interview.start()
        interview.handle("I would measure first, then fix the slowest part and measure again.")
        interview.handle("end")
        return interview.session.id

    older = finished("backend-developer", Level.MID)
    finished("backend-developer", Level.MID)
    newest = finished("frontend-developer", Level.JUNIOR)
    _, points = progress(svc.store, svc.corpus.by_id(), "robin", viewer=LOCAL)
    groups = trend_groups(points)
    assert groups == [("frontend-developer", "junior"), ("backend-developer", "mid")]
    backend = in_group(points, groups[1])
    assert older in {p.session_id for p in backend}
    assert newest not in {p.session_id for p in backend}
    spec = progress_chart(backend, by="criterion").to_dict()
    assert spec["height"] == 280 and spec["autosize"]["type"] == "fit-x"

    history = AppTest.from_function(_history, default_timeout=120)
    history.query_params["profile"] = "robin"
    history.run()
    assert not history.exception, history.exception
    choice = next(s for s in history.selectbox if s.label == "Trend for")
    assert choice.value == groups[0]  # the latest by default
    assert "backend-developer · mid (2 finished)" in choice.options
    rows = [m.value for m in history.markdown if "·" in m.value]
    assert sum("backend" in _unescaped(r) for r in rows) == 2, rows
    assert sum("frontend" in _unescaped(r) for r in rows) == 1, rows


def _bank() -> None:
    from interviewer.web.bank_page import bank_page

    bank_page()


def test_the_question_bank_names_and_filters_the_role() -> None:
    """Both banks' questions were mixed in the results with nothing to tell them apart."""
    at = AppTest.from_function(_bank, default_timeout=120)
    at.query_params["q"] = "caching and cache invalidation"
    at.run()
    assert not at.exception, at.exception
    roles = {c.value.split(" · ")[0] for c in at.caption if c.value.count(" · ") >= 3}
    assert roles == {"backend-developer", "frontend-developer"}, roles  # both, each named
    next(s for s in at.sidebar.selectbox if s.label == "Role").select("frontend-developer").run()
    assert not at.exception, at.exception
    shown = [c.value for c in at.caption if c.value.count(" · ") >= 3]
    assert shown and all(c.startswith("frontend-developer · ") for c in shown), shown


def test_the_end_button_asks_before_ending_and_keep_going_keeps_the_interview() -> None:
    """One stray click on End ended the interview, with no way back."""
    at = _start(_app())
    at.chat_input[0].set_value("I would add an index and check the plan with EXPLAIN.")
    at.run()
    _button(at, "End").click().run()
    asked = next(m.value for m in at.markdown if "End the interview now?" in m.value)
    assert "3 more questions will not be asked" in asked, asked
    assert not [t for t in at.title if t.value == "Your interview report"]
    _button(at, "Keep going").click().run()
    assert not [m for m in at.markdown if "End the interview now?" in m.value]
    assert not [t for t in at.title if t.value == "Your interview report"]
    assert at.chat_input  # still answering
    _end(at)
    assert at.title[0].value == "Your interview report"


def test_report_and_history_use_the_packs_format_names() -> None:
    """The form said "Phone screen" and "Mixed loop"; the report and history said "Phone
    Screen" and "Mixed", from the format's id."""
    at = _start(_app(), profile="sam")
    at.chat_input[0].set_value("I would add an index and check the plan with EXPLAIN.")
    at.run()
    _end(at)
    assert not at.exception, at.exception
    header = next(c.value for c in at.caption if " · scored by " in c.value)
    assert header.startswith("Phone screen · mid · 1 question · "), header
    history = AppTest.from_function(_history, default_timeout=120)
    history.query_params["profile"] = "sam"
    history.run()
    assert any(m.value.startswith("**Phone screen** · ") for m in history.markdown)
    from interviewer.web.resources import services

    assert services().format_name("gone-pack", "system-design") == "System design"


def test_the_question_bank_says_when_nothing_is_close_to_a_search() -> None:
    """Gibberish listed six questions as if they matched it."""
    at = AppTest.from_function(_bank, default_timeout=120)
    at.query_params["q"] = "asdkjhqwe zzzz"
    at.run()
    assert not at.exception, at.exception
    assert any("No question is close to this search" in i.value for i in at.info)
    assert any(c.value.count(" · ") >= 3 for c in at.caption)  # the nearest are still shown
    at.text_input[0].input("caching").run()
    assert not any("No question is close" in i.value for i in at.info)


def test_coaching_counts_the_key_points_of_the_level() -> None:
    """Coaching mode said "of 6 key points" where the report lists 5: it counted points
    above the interview's level."""
    from interviewer.domain import Level
    from interviewer.web.resources import services

    svc = services()
    for _ in range(8):  # until the first question has a key point above junior
        at = _app()
        next(t for t in at.toggle if t.label.startswith("Coaching")).set_value(True)
        at.radio[0].set_value(Level.JUNIOR)
        _start(at)
        session = svc.store.load(at.query_params["session"], viewer=LOCAL)
        q = svc.corpus.by_id()[session.plan[0].question_id]
        if len(q.expected_at(Level.JUNIOR)) < len(q.key_points):
            break
    else:
        pytest.fail("no first question with a key point above junior in 8 interviews")
    at.chat_input[0].set_value(q.expected_at(Level.JUNIOR)[0].text)  # one junior point
    at.run()
    assert not at.exception, at.exception
    said = next(c.value for c in at.caption if c.value.startswith("Score so far"))
    expected = {kp.id for kp in q.expected_at(Level.JUNIOR)}
    score = svc.store.load(session.id, viewer=LOCAL).scores[q.id]
    listed = [kp for kp in score.key_points if kp.covered or kp.id in expected]
    covered = sum(kp.covered for kp in listed)
    assert f" {covered} of {len(listed)} key points " in said, said
